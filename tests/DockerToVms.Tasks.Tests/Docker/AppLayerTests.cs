using System.Formats.Tar;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Docker;

/// <summary>The app layer, written to memory and read back as a tar archive.</summary>
[TestClass]
public sealed class AppLayerTests : IDisposable
{
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite
        | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode Mode0755 = Mode0644 | UnixFileMode.UserExecute
        | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly TemporaryDirectory _folder = new("dtv-applayer-");
    private string _publish = string.Empty;

    [TestInitialize]
    public void CreatePublishFolder()
    {
        _publish = _folder.CreateFolder("publish");
        _folder.Write("publish/myapp.dll", "dll");
        var program = _folder.Write("publish/myapp", "elf");
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite
            | UnixFileMode.UserExecute);
        var secret = _folder.Write("publish/appsettings.json", "{}");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _folder.Write("publish/wwwroot/index.html", "<html/>");
        File.CreateSymbolicLink(_folder.Combine("publish/current.dll"), "myapp.dll");
    }

    public void Dispose() => _folder.Dispose();

    private List<TarEntry> Entries(string workingDirectory = "/app")
    {
        using var archive = new MemoryStream();
        new AppLayer(_publish, workingDirectory).WriteTo(archive);
        archive.Position = 0;

        var entries = new List<TarEntry>();
        using var reader = new TarReader(archive);
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            entries.Add(entry);
        }

        return entries;
    }

    private string Digest(string baseId = "sha256:base", string settings = "[]") =>
        new AppLayer(_publish, "/app").ComputeDigest(baseId, settings);

    [TestMethod]
    public void The_layer_holds_the_working_directory_then_every_file_under_it_in_order()
    {
        var names = Entries().Select(e => e.Name).ToList();

        Expect.Sequence(names,
            "app/", "app/appsettings.json", "app/current.dll", "app/myapp", "app/myapp.dll",
            "app/wwwroot/", "app/wwwroot/index.html");
    }

    [TestMethod]
    public void A_nested_working_directory_is_created_level_by_level()
    {
        var names = Entries("/srv/my app/").Select(e => e.Name).Take(3).ToList();

        Expect.Sequence(names, "srv/", "srv/my app/", "srv/my app/appsettings.json");
    }

    [TestMethod]
    public void Every_entry_belongs_to_root_without_account_names()
    {
        foreach (var entry in Entries())
        {
            Assert.AreEqual(0, entry.Uid, entry.Name);
            Assert.AreEqual(0, entry.Gid, entry.Name);
            var posix = (PosixTarEntry)entry;
            Assert.AreEqual(string.Empty, posix.UserName, entry.Name);
            Assert.AreEqual(string.Empty, posix.GroupName, entry.Name);
        }
    }

    [TestMethod]
    public void Executables_keep_their_execute_bit_and_other_files_are_readable_by_all()
    {
        var entries = Entries().ToDictionary(e => e.Name);

        Assert.AreEqual(Mode0755, entries["app/myapp"].Mode);
        Assert.AreEqual(Mode0644, entries["app/myapp.dll"].Mode);
        Assert.AreEqual(Mode0644, entries["app/appsettings.json"].Mode);
        Assert.AreEqual(Mode0755, entries["app/"].Mode);
        Assert.AreEqual(Mode0755, entries["app/wwwroot/"].Mode);
    }

    [TestMethod]
    public void Files_keep_their_content_and_links_stay_links()
    {
        var entries = Entries().ToDictionary(e => e.Name);

        Assert.AreEqual(TarEntryType.RegularFile, entries["app/myapp.dll"].EntryType);
        using var content = new StreamReader(entries["app/wwwroot/index.html"].DataStream!);
        Assert.AreEqual("<html/>", content.ReadToEnd());
        Assert.AreEqual(TarEntryType.SymbolicLink, entries["app/current.dll"].EntryType);
        Assert.AreEqual("myapp.dll", entries["app/current.dll"].LinkName);
        Assert.AreEqual(TarEntryType.Directory, entries["app/wwwroot/"].EntryType);
    }

    [TestMethod]
    public void Files_keep_their_modification_time()
    {
        var time = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(_folder.Combine("publish/myapp.dll"), time);

        var entry = Entries().Single(e => e.Name == "app/myapp.dll");

        Assert.AreEqual(new DateTimeOffset(time), entry.ModificationTime);
    }

    [TestMethod]
    public void The_layer_counts_its_files()
    {
        Assert.AreEqual(5, new AppLayer(_publish, "/app").FileCount);
    }

    [TestMethod]
    public void An_unchanged_app_on_an_unchanged_base_keeps_its_digest()
    {
        Assert.AreEqual(Digest(), Digest());
        Assert.AreEqual(64, Digest().Length);
    }

    [TestMethod]
    public void A_changed_file_gives_a_new_digest()
    {
        var before = Digest();

        File.WriteAllText(_folder.Combine("publish/wwwroot/index.html"), "<html></html>");

        Assert.AreNotEqual(before, Digest());
    }

    [TestMethod]
    public void An_added_file_gives_a_new_digest()
    {
        var before = Digest();

        _folder.Write("publish/extra.json", "{}");

        Assert.AreNotEqual(before, Digest());
    }

    [TestMethod]
    public void A_file_made_executable_gives_a_new_digest()
    {
        var before = Digest();

        File.SetUnixFileMode(_folder.Combine("publish/myapp.dll"), Mode0755);

        Assert.AreNotEqual(before, Digest());
    }

    [TestMethod]
    public void A_changed_link_target_gives_a_new_digest()
    {
        var before = Digest();

        File.Delete(_folder.Combine("publish/current.dll"));
        File.CreateSymbolicLink(_folder.Combine("publish/current.dll"), "myapp");

        Assert.AreNotEqual(before, Digest());
    }

    [TestMethod]
    public void A_new_base_image_gives_a_new_digest()
    {
        Assert.AreNotEqual(Digest(baseId: "sha256:one"), Digest(baseId: "sha256:two"));
    }

    [TestMethod]
    public void Changed_settings_give_a_new_digest()
    {
        Assert.AreNotEqual(Digest(settings: "[\"/app\"]"), Digest(settings: "[\"/srv\"]"));
    }

    [TestMethod]
    public void A_file_touched_without_change_keeps_the_digest()
    {
        var before = Digest();

        File.SetLastWriteTimeUtc(_folder.Combine("publish/myapp.dll"),
            new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        Assert.AreEqual(before, Digest());
    }
}
