using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.AppTrim;

/// <summary>The package database, the archive's package names and the app's startup output.</summary>
[TestClass]
public sealed class PackageRecordTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-dpkg-");

    public void Dispose() => _folder.Dispose();

    [TestMethod]
    public void A_file_listed_under_lib_belongs_to_its_package_where_it_really_is()
    {
        _folder.Write("usr/lib/libx.so.1", "x");
        File.CreateSymbolicLink(_folder.Combine("lib"), "usr/lib");
        _folder.Write("var/lib/dpkg/info/libx1:amd64.list", "/.\n/lib\n/lib/libx.so.1\n");
        _folder.Write("var/lib/dpkg/info/other.list", "/.\n/usr\n/usr/lib\n");
        _folder.Write("var/lib/dpkg/status",
            "Package: libx1\nInstalled-Size: 4\n\nPackage: other\nInstalled-Size: 8\n");

        var database = DpkgDatabase.Read(new ImageRoot(_folder.Path));

        Assert.AreEqual("libx1", database.OwnerOf("/usr/lib/libx.so.1"));
        Assert.IsNull(database.OwnerOf("/usr/lib"), "directories belong to no one package");
        Assert.AreEqual("Package: libx1\nInstalled-Size: 4\n",
            database.StatusFor(new HashSet<string> { "libx1" }));
        Assert.AreEqual(4096, database.InstalledSizes()["libx1"]);
    }

    [TestMethod]
    public void A_missing_library_is_answered_with_the_package_Debian_names_after_it()
    {
        var index = PackageIndex.Of(["libssl3t64", "libfoo2-3", "libgcc-s1", "libicu76",
            "libgdiplus", "libstdc++6"]);

        Expect.Sequence(index.Guess("libssl.so.3"), "libssl3t64");
        Expect.Sequence(index.Guess("libfoo2.so.3"), "libfoo2-3");
        Expect.Sequence(index.Guess("libgcc_s.so.1"), "libgcc-s1");
        Expect.Sequence(index.Guess("libicuuc.so.76"), "libicu76");
        Expect.Sequence(index.Guess("libgdiplus.so.0"), "libgdiplus");
        Expect.Sequence(index.Guess("libstdc++.so.6"), "libstdc++6");
        Expect.Sequence(index.Guess("libnothing.so.9"));
        Assert.AreEqual("libicu76", index.NewestIcu());
    }

    [TestMethod]
    public void The_archive_package_names_are_saved_from_apt_lists()
    {
        var root = _folder.CreateFolder("rootfs");
        _folder.Write("rootfs/var/lib/apt/lists/deb.debian.org_dists_trixie_main_binary-amd64_Packages",
            "Package: libc6\nVersion: 1\n\nPackage: libssl3t64\nVersion: 2\n");
        var saved = _folder.Combine("names.txt");

        Assert.AreEqual(2, PackageIndex.Save(root, saved));

        Expect.Sequence(PackageIndex.Load(saved).Guess("libssl.so.3"), "libssl3t64");
        Assert.AreEqual(0, PackageIndex.Save(_folder.CreateFolder("bare"), _folder.Combine("none")));
    }

    [TestMethod]
    public void A_startup_failure_names_the_library_that_was_missing()
    {
        Assert.AreEqual("libfoo.so.1", StartupFailure.MissingLibrary(
            "/app/x: error while loading shared libraries: libfoo.so.1: cannot open shared "
            + "object file: No such file or directory"));
        Assert.AreEqual("libsqlite3.so.0", StartupFailure.MissingLibrary(
            "Unhandled exception. System.DllNotFoundException: Unable to load shared library "
            + "'libsqlite3.so.0' or one of its dependencies."));
        StringAssert.Contains(StartupFailure.MissingLibrary(
            "Process terminated. Couldn't find a valid ICU package installed on the system."),
            "ICU");
        Assert.IsNull(StartupFailure.MissingLibrary("Usage: app <file>"));
    }
}
