using System.Formats.Tar;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Export;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Export;

/// <summary>
/// The unpacker writes a container's files into the root filesystem and nowhere else: an
/// archive with any entry that could lead outside is refused with a DTV code, and the
/// folder beside the root stays empty.
/// </summary>
[TestClass]
public sealed class RootfsUnpackerTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-unpack-");

    public void Dispose() => _folder.Dispose();

    private string Root => _folder.Combine("rootfs");

    private string Outside => _folder.Combine("outside");

    [TestInitialize]
    public void CreateOutside() => Directory.CreateDirectory(Outside);

    private static MemoryStream Archive(params PaxTarEntry[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
        }

        stream.Position = 0;
        return stream;
    }

    private static PaxTarEntry Folder(string name) =>
        new(TarEntryType.Directory, name) { Mode = (UnixFileMode)0b111_101_101 };

    private static PaxTarEntry FileEntry(string name, string content, int uid = 0) =>
        new(TarEntryType.RegularFile, name)
        {
            Mode = (UnixFileMode)0b110_100_100,
            Uid = uid,
            Gid = uid,
            ModificationTime = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero),
            DataStream = new MemoryStream(HostTools.Utf8.GetBytes(content)),
        };

    private static PaxTarEntry Link(TarEntryType type, string name, string target) =>
        new(type, name) { LinkName = target, Mode = (UnixFileMode)0b111_111_111 };

    private UnpackSummary Unpack(MemoryStream archive) =>
        new RootfsUnpacker(Root, "test-image").Unpack(archive, CancellationToken.None);

    private string RefusedWith(MemoryStream archive)
    {
        var error = Assert.ThrowsExactly<DtvException>(() => Unpack(archive));
        Assert.IsEmpty(Directory.EnumerateFileSystemEntries(Outside),
            "nothing may be written outside the root filesystem");
        return error.Code;
    }

    [TestMethod]
    public void I_can_unpack_folders_files_links_and_hard_links()
    {
        var summary = Unpack(Archive(
            Folder("etc/"),
            FileEntry("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
            FileEntry("home/app/notes", "mine", uid: 1654),
            Link(TarEntryType.SymbolicLink, "etc/alias", "/etc/passwd"),
            Link(TarEntryType.HardLink, "etc/passwd-copy", "etc/passwd")));

        Assert.AreEqual(5, summary.Entries);
        Assert.AreEqual("root:x:0:0::/root:/bin/sh\n",
            File.ReadAllText(Path.Combine(Root, "etc/passwd")));
        Assert.AreEqual("/etc/passwd", new FileInfo(Path.Combine(Root, "etc/alias")).LinkTarget);
        Assert.AreEqual("root:x:0:0::/root:/bin/sh\n",
            File.ReadAllText(Path.Combine(Root, "etc/passwd-copy")));
        Assert.AreEqual(new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc),
            File.GetLastWriteTimeUtc(Path.Combine(Root, "etc/passwd")));
        Assert.AreEqual((UnixFileMode)0b110_100_100,
            File.GetUnixFileMode(Path.Combine(Root, "etc/passwd")));
    }

    [TestMethod]
    public async Task Owners_are_kept_as_numbers_when_running_as_root()
    {
        if (!HostTools.IsRoot)
        {
            Assert.Inconclusive("Keeping owners needs root.");
        }

        Unpack(Archive(FileEntry("home/app/notes", "mine", uid: 1654)));

        var stat = await StatAsync(Path.Combine(Root, "home/app/notes"), "%u:%g");
        Assert.AreEqual("1654:1654", stat);
    }

    [TestMethod]
    public async Task Device_nodes_are_made_when_running_as_root()
    {
        if (!HostTools.IsRoot)
        {
            Assert.Inconclusive("Making device nodes needs root.");
        }

        Unpack(Archive(Folder("dev/"), new PaxTarEntry(TarEntryType.CharacterDevice, "dev/null")
        {
            DeviceMajor = 1,
            DeviceMinor = 3,
            Mode = (UnixFileMode)0b110_110_110,
        }));

        Assert.AreEqual("character special file 1,3",
            await StatAsync(Path.Combine(Root, "dev/null"), "%F %Hr,%Lr"));
    }

    [TestMethod]
    public void An_entry_with_a_dot_dot_part_is_refused()
    {
        var code = RefusedWith(Archive(FileEntry("etc/../../outside/evil", "x")));

        Assert.AreEqual("DTV6001", code);
    }

    [TestMethod]
    public void An_absolute_entry_is_refused()
    {
        var code = RefusedWith(Archive(FileEntry(Path.Combine(Outside, "evil"), "x")));

        Assert.AreEqual("DTV6001", code);
    }

    [TestMethod]
    public void An_entry_below_a_link_that_points_out_is_refused()
    {
        var code = RefusedWith(Archive(
            Link(TarEntryType.SymbolicLink, "etc", Outside),
            FileEntry("etc/passwd", "evil")));

        Assert.AreEqual("DTV6002", code);
    }

    [TestMethod]
    public void An_entry_below_a_relative_link_is_refused_too()
    {
        var code = RefusedWith(Archive(
            Link(TarEntryType.SymbolicLink, "etc", "../outside"),
            Folder("etc/cron.d/")));

        Assert.AreEqual("DTV6002", code);
    }

    [TestMethod]
    public void A_link_may_point_anywhere_as_a_link()
    {
        Unpack(Archive(Link(TarEntryType.SymbolicLink, "var/secret", Outside + "/file")));

        Assert.AreEqual(Outside + "/file",
            new FileInfo(Path.Combine(Root, "var/secret")).LinkTarget);
        Assert.IsEmpty(Directory.EnumerateFileSystemEntries(Outside));
    }

    [TestMethod]
    public void A_file_replaces_an_earlier_link_of_its_name_without_following_it()
    {
        var target = Path.Combine(Outside, "file");

        Unpack(Archive(
            Link(TarEntryType.SymbolicLink, "config", target),
            FileEntry("config", "inside")));

        Assert.IsNull(new FileInfo(Path.Combine(Root, "config")).LinkTarget);
        Assert.AreEqual("inside", File.ReadAllText(Path.Combine(Root, "config")));
        Assert.IsFalse(File.Exists(target));
    }

    [TestMethod]
    public void A_hard_link_to_outside_is_refused()
    {
        File.WriteAllText(_folder.Combine("secret"), "host file");

        var code = RefusedWith(Archive(Link(TarEntryType.HardLink, "copy", "../secret")));

        Assert.AreEqual("DTV6001", code);
        Assert.IsFalse(File.Exists(Path.Combine(Root, "copy")));
    }

    [TestMethod]
    public void A_hard_link_through_a_link_is_refused()
    {
        File.WriteAllText(Path.Combine(Outside, "file"), "host file");

        var error = Assert.ThrowsExactly<DtvException>(() => Unpack(Archive(
            Link(TarEntryType.SymbolicLink, "out", Outside),
            Link(TarEntryType.HardLink, "copy", "out/file"))));

        Assert.AreEqual("DTV6002", error.Code);
        Assert.IsFalse(File.Exists(Path.Combine(Root, "copy")));
    }

    [TestMethod]
    public void A_hard_link_to_nothing_unpacked_is_refused()
    {
        var code = RefusedWith(Archive(Link(TarEntryType.HardLink, "copy", "missing")));

        Assert.AreEqual("DTV6004", code);
    }

    [TestMethod]
    public void A_file_where_a_folder_is_needed_is_refused()
    {
        var code = RefusedWith(Archive(FileEntry("etc", "a file"), FileEntry("etc/passwd", "x")));

        Assert.AreEqual("DTV6005", code);
    }

    [TestMethod]
    public void The_container_marker_is_left_out()
    {
        var summary = Unpack(Archive(FileEntry(".dockerenv", string.Empty),
            FileEntry("etc/hostname", "x\n")));

        Assert.AreEqual(1, summary.Entries);
        Assert.IsFalse(File.Exists(Path.Combine(Root, ".dockerenv")));
    }

    [TestMethod]
    public void Extended_attributes_are_counted_as_not_kept()
    {
        var ping = new PaxTarEntry(TarEntryType.RegularFile, "usr/bin/ping",
            new Dictionary<string, string> { ["SCHILY.xattr.security.capability"] = "x" })
        {
            DataStream = new MemoryStream([1, 2, 3]),
        };

        var summary = Unpack(Archive(ping));

        Assert.AreEqual(1, summary.DroppedAttributes);
        Assert.AreEqual("/usr/bin/ping", summary.FirstDroppedAttribute);
    }

    [TestMethod]
    public void Names_are_taken_apart_without_dot_parts()
    {
        var unpacker = new RootfsUnpacker(Root, "test-image");

        Expect.Sequence(unpacker.PartsOf("./usr/./bin//env", "e"), "usr", "bin", "env");
        Assert.IsEmpty(unpacker.PartsOf("./", "e"));
        Assert.ThrowsExactly<DtvException>(() => unpacker.PartsOf("usr/..", "e"));
        Assert.ThrowsExactly<DtvException>(() => unpacker.PartsOf("/usr", "e"));
    }

    private static async Task<string> StatAsync(string path, string format)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(
            "stat", ["-c", format, path]) { RedirectStandardOutput = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
    }
}
