using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Tests.AppTrim;

/// <summary>The three trim levels, their recipes, the size report and the AOT tool check.</summary>
[TestClass]
public sealed class TrimLevelTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-levels-");

    public void Dispose() => _folder.Dispose();

    private static BaseRecipe Recipe(string trim) => new()
    {
        Suite = "trixie",
        Mirror = "http://deb.debian.org/debian",
        Variant = "minbase",
        Architecture = "amd64",
        Trim = trim,
    };

    [TestMethod]
    public void The_trim_levels_are_none_slim_and_app()
    {
        Assert.AreEqual(TrimLevel.None, RootfsTrimmer.Parse("none"));
        Assert.AreEqual(TrimLevel.Slim, RootfsTrimmer.Parse("Slim"));
        Assert.AreEqual(TrimLevel.App, RootfsTrimmer.Parse("app"));
        var e = Assert.ThrowsExactly<DtvException>(() => RootfsTrimmer.Parse("tiny"));
        Assert.AreEqual("DTV9006", e.Code);
        StringAssert.Contains((string)e.Arguments[1]!, "app");
    }

    [TestMethod]
    public void Slim_and_app_share_one_cached_root_filesystem_and_none_has_its_own()
    {
        Assert.AreEqual(Recipe("slim").ComputeDigest(), Recipe("app").ComputeDigest());
        Assert.AreNotEqual(Recipe("slim").ComputeDigest(), Recipe("none").ComputeDigest());
    }

    [TestMethod]
    public void App_trims_the_cached_root_filesystem_as_slim_does_and_keeps_the_C_locale()
    {
        _folder.Write("usr/lib/locale/C.utf8/LC_CTYPE", "c");
        _folder.Write("usr/lib/locale/locale-archive", "all of them");
        _folder.Write("usr/lib/locale/de_DE.utf8/LC_CTYPE", "de");
        _folder.Write("var/log/dpkg.log", "log");
        _folder.Write("var/lib/dpkg/status", "Package: libc6\n");
        _folder.Write("etc/ld.so.cache", "cache");

        RootfsTrimmer.Trim(_folder.Path, TrimLevel.App);

        Assert.IsTrue(File.Exists(_folder.Combine("usr/lib/locale/C.utf8/LC_CTYPE")));
        Assert.IsFalse(File.Exists(_folder.Combine("usr/lib/locale/locale-archive")));
        Assert.IsFalse(Directory.Exists(_folder.Combine("usr/lib/locale/de_DE.utf8")));
        Assert.IsFalse(File.Exists(_folder.Combine("var/log/dpkg.log")));
        Assert.IsTrue(File.Exists(_folder.Combine("var/lib/dpkg/status")), "scanners read it");
        Assert.IsTrue(File.Exists(_folder.Combine("etc/ld.so.cache")), "the loader reads it");
    }

    [TestMethod]
    public void The_trim_records_what_it_removed_and_saves_the_archive_package_names()
    {
        _folder.Write("bin/sh", string.Empty);
        _folder.WriteBytes("var/log/dpkg.log", 5000);
        _folder.Write("var/lib/apt/lists/x_Packages", "Package: libfoo1\n");
        var engine = new RecordingBuildEngine();
        var task = new TrimRootfsTask
        {
            BuildEngine = engine,
            RootDirectory = _folder.Path,
            Level = "app",
            PackageIndexFile = _folder.Combine("names.txt"),
            RecordFile = _folder.Combine("removed.txt"),
        };

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("libfoo1", File.ReadAllText(_folder.Combine("names.txt")).Trim());
        Assert.IsTrue(long.Parse(File.ReadAllText(_folder.Combine("removed.txt")),
            System.Globalization.CultureInfo.InvariantCulture) >= 5000);
    }

    [TestMethod]
    public void The_size_report_shows_the_base_its_packages_what_trimming_removed_and_the_app()
    {
        var full = _folder.CreateFolder("full");
        _folder.WriteBytes("full/usr/lib/libbig.so.1", 3_000_000);
        _folder.WriteBytes("full/usr/lib/libsmall.so.1", 1_000_000);
        _folder.WriteBytes("full/usr/bin/tool", 2_000_000);
        _folder.Write("full/var/lib/dpkg/info/big1.list", "/usr/lib/libbig.so.1\n");
        _folder.Write("full/var/lib/dpkg/info/small1.list", "/usr/lib/libsmall.so.1\n");
        _folder.Write("full/var/lib/dpkg/status", "Package: big1\n\nPackage: small1\n");
        var derived = _folder.CreateFolder("derived");
        _folder.WriteBytes("derived/usr/lib/libbig.so.1", 3_000_000);
        _folder.WriteBytes("derived/usr/lib/libsmall.so.1", 1_000_000);
        _folder.WriteBytes("publish/App", 4_000_000);
        File.WriteAllText(_folder.Combine("trim-removed.txt"), "500000\n");
        var engine = new RecordingBuildEngine();
        var task = new ReportImageSizeTask
        {
            BuildEngine = engine,
            Image = "myapp:latest",
            FullRootDirectory = full,
            BaseRootDirectory = derived,
            TrimLevel = "app",
            PublishDirectory = _folder.Combine("publish"),
            ReportFile = _folder.Combine("out/image-size.md"),
        };

        Assert.IsTrue(task.Execute(), engine.Log);

        var report = ImageSizeReport.Measure(full, derived, "app", _folder.Combine("publish"),
            500_000);
        Assert.AreEqual(4_000_000, report.BaseBytes);
        Assert.IsTrue(report.DerivedRemovedBytes is >= 2_000_000 and < 2_001_000,
            $"the tool and the package database: {report.DerivedRemovedBytes}");
        Expect.Sequence(report.Packages.Select(p => p.Name), "big1", "small1");
        Assert.AreEqual(4_000_000, report.AppBytes);
        var markdown = File.ReadAllText(_folder.Combine("out/image-size.md"));
        StringAssert.Contains(markdown, "| big1 | 3.0 |");
        StringAssert.Contains(markdown, "| App | 4.0 |");
        StringAssert.Contains(markdown, "left out by `app`");
        var lines = engine.Messages.Where(m => m.Importance == MessageImportance.High)
            .Select(m => m.Message ?? string.Empty).ToList();
        Assert.IsTrue(lines.Any(l => l.Contains("image-size.md", StringComparison.Ordinal)),
            engine.Log);
        Assert.IsTrue(lines.Any(l => l.Contains("0.5 MB by slim", StringComparison.Ordinal)),
            engine.Log);
        Assert.IsTrue(lines.Any(l => l.Contains("largest packages: big1 3.0, small1 1.0",
            StringComparison.Ordinal)), engine.Log);
    }

    [TestMethod]
    public void Native_AOT_without_a_compiler_driver_fails_with_DTV9024_before_compiling()
    {
        var engine = new RecordingBuildEngine();
        var task = new CheckNativeToolchainTask
        {
            BuildEngine = engine,
            Compiler = "clang",
            AlternativeCompiler = "gcc",
            LinkerFlavor = "bfd",
            Runner = new FakeToolRunner(null, "clang", "gcc"),
        };

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV9024");
    }

    [TestMethod]
    public void Native_AOT_takes_the_alternative_compiler_but_needs_the_linker_it_names()
    {
        var withGcc = new CheckNativeToolchainTask
        {
            BuildEngine = new RecordingBuildEngine(),
            AlternativeCompiler = "gcc",
            LinkerFlavor = "bfd",
            Runner = new FakeToolRunner(null, "clang"),
        };
        var engine = new RecordingBuildEngine();
        var withoutLld = new CheckNativeToolchainTask
        {
            BuildEngine = engine,
            LinkerFlavor = "lld",
            Runner = new FakeToolRunner(null, "ld.lld"),
        };

        Assert.IsTrue(withGcc.Execute());
        Assert.IsFalse(withoutLld.Execute());
        Expect.Codes(engine, "DTV9024");
        StringAssert.Contains(engine.Errors[0].Message, "ld.lld");
    }
}
