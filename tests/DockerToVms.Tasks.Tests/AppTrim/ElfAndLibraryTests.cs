using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.AppTrim;

/// <summary>Reading ELF files and finding libraries the way the loader does.</summary>
[TestClass]
public sealed class ElfAndLibraryTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-elf-");

    public void Dispose() => _folder.Dispose();

    [TestMethod]
    public void A_program_names_the_libraries_it_needs_and_its_loader()
    {
        var ls = ElfObject.TryRead("/usr/bin/ls");

        Assert.IsNotNull(ls);
        CollectionAssert.Contains(ls.Needed.ToList(), "libc.so.6");
        Assert.IsNotNull(ls.Interpreter);
        StringAssert.StartsWith(ls.Interpreter, "/");
    }

    [TestMethod]
    public void Files_that_are_not_ELF_or_are_cut_short_give_nothing()
    {
        var text = _folder.Write("app.dll", "MZ not an ELF file");
        var bytes = File.ReadAllBytes("/usr/bin/ls");
        var cut = _folder.Combine("cut");
        File.WriteAllBytes(cut, bytes[..200]);
        var empty = _folder.Write("empty", string.Empty);

        Assert.IsNull(ElfObject.TryRead(text));
        Assert.IsNull(ElfObject.TryRead(cut));
        Assert.IsNull(ElfObject.TryRead(empty));
        Assert.IsNull(ElfObject.TryRead(_folder.Combine("missing")));
    }

    [TestMethod]
    public void A_library_is_found_through_the_directories_ld_so_conf_includes()
    {
        _folder.Write("etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
        _folder.Write("etc/ld.so.conf.d/extra.conf", "# comment\n/opt/extra/lib\n");
        File.Copy("/usr/bin/ls", _folder.Combine("bin-ls"));
        Directory.CreateDirectory(_folder.Combine("opt/extra/lib"));
        File.Copy(FakeAppRoot.HostLibrary("libc.so.6"), _folder.Combine("opt/extra/lib/libc.so.6"));
        var search = new LibrarySearch(new ImageRoot(_folder.Path), _ => true);
        var requester = new ElfObject(default, true, ["libc.so.6"], [], [], null);

        var found = search.Find("libc.so.6", requester, null, new List<string>());

        Assert.AreEqual("/opt/extra/lib/libc.so.6", found);
        Expect.Sequence(search.SystemDirectories, "/opt/extra/lib", "/lib", "/usr/lib");
    }

    [TestMethod]
    public void Origin_in_a_run_path_is_the_folder_of_the_library_that_asks()
    {
        Directory.CreateDirectory(_folder.Combine("opt/app/lib"));
        Directory.CreateDirectory(_folder.Combine("opt/app/bin"));
        File.Copy(FakeAppRoot.HostLibrary("libc.so.6"), _folder.Combine("opt/app/lib/libdep.so"));
        var search = new LibrarySearch(new ImageRoot(_folder.Path), _ => true);
        var requester = new ElfObject(default, true, ["libdep.so"], ["$ORIGIN/../lib"], [], null);

        Assert.AreEqual("/opt/app/lib/libdep.so",
            search.Find("libdep.so", requester, "/opt/app/bin", new List<string>()));
        Assert.IsNull(search.Find("libdep.so", requester, null, new List<string>()),
            "a requester outside the root has no origin there");
    }

    [TestMethod]
    public void A_library_for_another_processor_is_passed_over()
    {
        Directory.CreateDirectory(_folder.Combine("usr/lib"));
        File.Copy(FakeAppRoot.HostLibrary("libc.so.6"), _folder.Combine("usr/lib/libc.so.6"));
        var search = new LibrarySearch(new ImageRoot(_folder.Path), _ => false);
        var requester = new ElfObject(default, true, ["libc.so.6"], [], [], null);

        Assert.IsNull(search.Find("libc.so.6", requester, null, new List<string>()));
    }

    [TestMethod]
    public void Links_are_resolved_inside_the_image_and_recorded()
    {
        _folder.Write("usr/lib/real/libx.so.1.2", "x");
        File.CreateSymbolicLink(_folder.Combine("lib"), "usr/lib");
        File.CreateSymbolicLink(_folder.Combine("usr/lib/real/libx.so.1"), "libx.so.1.2");
        File.CreateSymbolicLink(_folder.Combine("usr/lib/escape"), "/../../../etc");
        var root = new ImageRoot(_folder.Path);
        var links = new List<string>();

        var resolved = root.Resolve("/lib/real/libx.so.1", links);

        Assert.AreEqual("/usr/lib/real/libx.so.1.2", resolved);
        Expect.Sequence(links, "/lib", "/usr/lib/real/libx.so.1");
        Assert.IsNull(root.Resolve("/usr/lib/escape/passwd", new List<string>()),
            "an absolute link is taken against the image's root, not the machine's");
    }

    [TestMethod]
    public void A_link_loop_is_not_followed_forever()
    {
        Directory.CreateDirectory(_folder.Combine("x"));
        File.CreateSymbolicLink(_folder.Combine("x/a"), "b");
        File.CreateSymbolicLink(_folder.Combine("x/b"), "a");

        Assert.IsNull(new ImageRoot(_folder.Path).Resolve("/x/a", new List<string>()));
    }
}
