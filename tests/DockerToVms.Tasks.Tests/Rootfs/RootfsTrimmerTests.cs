using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Rootfs;

/// <summary>Trimming a fake root filesystem laid out like a bootstrapped Debian.</summary>
[TestClass]
public sealed class RootfsTrimmerTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-trim-");
    private string _root = string.Empty;
    private string _outside = string.Empty;
    private string _outsideFile = string.Empty;

    [TestInitialize]
    public void CreateTree()
    {
        _root = _folder.CreateFolder("rootfs");
        _outside = _folder.CreateFolder("outside");
        _outsideFile = _folder.Write("outside/keep.txt", "not the image's");

        _folder.Write("rootfs/bin/sh", string.Empty);
        _folder.Write("rootfs/etc/resolv.conf", "nameserver 192.0.2.1\n");
        _folder.Write("rootfs/etc/hostname", "buildhost\n");
        _folder.Write("rootfs/etc/hosts", "192.0.2.7 buildhost\n");
        _folder.Write("rootfs/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
        _folder.Write("rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        _folder.CreateFolder("rootfs/var/lib/apt/lists/partial");
        _folder.WriteBytes("rootfs/var/lib/apt/lists/deb.debian.org_dists_trixie_InRelease", 1000);
        _folder.WriteBytes("rootfs/var/cache/apt/pkgcache.bin", 2000);
        _folder.WriteBytes("rootfs/var/log/apt/history.log", 300);
        _folder.WriteBytes("rootfs/var/log/dpkg.log", 400);
        _folder.WriteBytes("rootfs/usr/share/man/man1/ls.1.gz", 50);
        _folder.WriteBytes("rootfs/usr/share/doc/bash/changelog.gz", 600);
        _folder.WriteBytes("rootfs/usr/share/doc/bash/copyright", 70);
        _folder.WriteBytes("rootfs/usr/share/locale/de/LC_MESSAGES/bash.mo", 80);
        _folder.WriteBytes("rootfs/var/lib/dpkg/status", 90);
        _folder.WriteBytes("rootfs/var/lib/dpkg/status-old", 5);
        _folder.WriteBytes("rootfs/usr/lib/x86_64-linux-gnu/libc.so.6", 100);
    }

    public void Dispose() => _folder.Dispose();

    private bool Exists(string relative) => File.Exists(Path.Combine(_root, relative));

    private string Read(string relative) => File.ReadAllText(Path.Combine(_root, relative));

    [TestMethod]
    public void Slim_removes_package_lists_caches_logs_manuals_and_translations()
    {
        RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.IsFalse(Exists("var/lib/apt/lists/deb.debian.org_dists_trixie_InRelease"));
        Assert.IsFalse(Exists("var/cache/apt/pkgcache.bin"));
        Assert.IsFalse(Exists("var/log/apt/history.log"));
        Assert.IsFalse(Exists("var/log/dpkg.log"));
        Assert.IsFalse(Exists("usr/share/man/man1/ls.1.gz"));
        Assert.IsFalse(Exists("usr/share/locale/de/LC_MESSAGES/bash.mo"));
        Assert.IsFalse(Exists("var/lib/dpkg/status-old"));
    }

    [TestMethod]
    public void Slim_keeps_the_folders_it_empties()
    {
        RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.IsTrue(Directory.Exists(Path.Combine(_root, "var/lib/apt/lists/partial")));
        Assert.IsTrue(Directory.Exists(Path.Combine(_root, "var/log/apt")));
    }

    [TestMethod]
    public void Slim_keeps_copyright_files_and_what_programs_need()
    {
        RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.IsFalse(Exists("usr/share/doc/bash/changelog.gz"));
        Assert.IsTrue(Exists("usr/share/doc/bash/copyright"));
        Assert.IsTrue(Exists("var/lib/dpkg/status"));
        Assert.IsTrue(Exists("usr/lib/x86_64-linux-gnu/libc.so.6"));
        Assert.AreEqual("root:x:0:0:root:/root:/bin/sh\n", Read("etc/passwd"));
    }

    [TestMethod]
    public void Slim_reports_the_bytes_it_removed()
    {
        var removed = RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.AreEqual(1000 + 2000 + 300 + 400 + 50 + 600 + 80 + 5, removed);
    }

    [TestMethod]
    [DataRow(TrimLevel.Slim)]
    [DataRow(TrimLevel.None)]
    public void The_build_machine_identity_and_network_files_are_neutralised(TrimLevel level)
    {
        RootfsTrimmer.Trim(_root, level);

        Assert.AreEqual(string.Empty, Read("etc/resolv.conf"));
        Assert.AreEqual("localhost\n", Read("etc/hostname"));
        var hosts = Read("etc/hosts");
        StringAssert.StartsWith(hosts, "127.0.0.1\tlocalhost\n");
        StringAssert.Contains(hosts, "::1\tlocalhost");
        Assert.IsFalse(hosts.Contains("buildhost", StringComparison.Ordinal), hosts);
        Assert.AreEqual(string.Empty, Read("etc/machine-id"));
    }

    [TestMethod]
    public void None_removes_nothing()
    {
        var removed = RootfsTrimmer.Trim(_root, TrimLevel.None);

        Assert.AreEqual(0, removed);
        Assert.IsTrue(Exists("var/lib/apt/lists/deb.debian.org_dists_trixie_InRelease"));
        Assert.IsTrue(Exists("usr/share/doc/bash/changelog.gz"));
        Assert.IsTrue(Exists("var/log/dpkg.log"));
        Assert.IsTrue(Exists("usr/share/man/man1/ls.1.gz"));
    }

    [TestMethod]
    public void A_resolver_link_is_replaced_and_its_target_kept()
    {
        File.Delete(Path.Combine(_root, "etc/resolv.conf"));
        File.CreateSymbolicLink(Path.Combine(_root, "etc/resolv.conf"), _outsideFile);

        RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.IsNull(new FileInfo(Path.Combine(_root, "etc/resolv.conf")).LinkTarget);
        Assert.AreEqual(string.Empty, Read("etc/resolv.conf"));
        Assert.AreEqual("not the image's", File.ReadAllText(_outsideFile));
    }

    [TestMethod]
    public void A_link_inside_the_docs_to_a_folder_outside_is_removed_not_followed()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "usr/share/doc/bash/examples"), _outside);

        RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.IsTrue(File.Exists(_outsideFile), "the trim followed a link out of the tree");
        Assert.IsFalse(Path.Exists(Path.Combine(_root, "usr/share/doc/bash/examples")));
    }

    [TestMethod]
    public void A_link_to_a_file_outside_is_removed_not_followed()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "var/log/outside.log"), _outsideFile);

        var removed = RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.AreEqual("not the image's", File.ReadAllText(_outsideFile));
        var link = new FileInfo(Path.Combine(_root, "var/log/outside.log"));
        Assert.IsFalse(link.Exists || link.LinkTarget is not null, "the link is still there");
        Assert.AreEqual(1000 + 2000 + 300 + 400 + 50 + 600 + 80 + 5, removed);
    }

    [TestMethod]
    public void A_trimmed_folder_that_is_a_link_outside_is_left_alone()
    {
        Directory.Delete(Path.Combine(_root, "var/log"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(_root, "var/log"), _outside);

        RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.IsTrue(File.Exists(_outsideFile), "the trim emptied a folder outside the tree");
    }

    [TestMethod]
    public void A_docs_folder_that_is_a_link_outside_is_left_alone()
    {
        Directory.Delete(Path.Combine(_root, "usr/share/doc"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(_root, "usr/share/doc"), _outside);

        RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.IsTrue(File.Exists(_outsideFile), "the trim deleted docs outside the tree");
    }

    [TestMethod]
    public void A_link_higher_up_a_trimmed_path_is_not_followed()
    {
        _folder.WriteBytes("outside/lists/Packages", 10);
        Directory.Delete(Path.Combine(_root, "var/lib/apt"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(_root, "var/lib/apt"), _outside);

        RootfsTrimmer.Trim(_root, TrimLevel.Slim);

        Assert.IsTrue(File.Exists(_folder.Combine("outside/lists/Packages")),
            "the trim followed var/lib/apt out of the tree");
    }

    [TestMethod]
    public void A_host_file_folder_that_is_a_link_outside_is_not_written()
    {
        Directory.Delete(Path.Combine(_root, "etc"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(_root, "etc"), _outside);
        _folder.Write("outside/hostname", "outside\n");

        RootfsTrimmer.Trim(_root, TrimLevel.None);

        Assert.AreEqual("outside\n", File.ReadAllText(_folder.Combine("outside/hostname")));
        Assert.IsFalse(File.Exists(_folder.Combine("outside/machine-id")));
    }

    [TestMethod]
    public void A_tree_without_the_usual_folders_is_trimmed_without_error()
    {
        using var bare = new TemporaryDirectory("dtv-trim-bare-");
        bare.Write("bin/sh", string.Empty);

        Assert.AreEqual(0, RootfsTrimmer.Trim(bare.Path, TrimLevel.Slim));
        Assert.IsFalse(File.Exists(bare.Combine("etc/hostname")));
    }

    [TestMethod]
    [DataRow("none", TrimLevel.None)]
    [DataRow("slim", TrimLevel.Slim)]
    [DataRow("SLIM", TrimLevel.Slim)]
    [DataRow("", TrimLevel.Slim)]
    public void Trim_levels_are_read_by_name(string name, TrimLevel level) =>
        Assert.AreEqual(level, RootfsTrimmer.Parse(name));

    [TestMethod]
    [DataRow("fat")]
    [DataRow("minimal")]
    [DataRow(" slim")]
    public void An_unknown_trim_level_fails_with_DTV9006(string name)
    {
        var error = Assert.ThrowsExactly<DtvException>(() => RootfsTrimmer.Parse(name));

        Assert.AreEqual("DTV9006", error.Code);
        Assert.AreEqual(name, error.Arguments[0]);
    }
}
