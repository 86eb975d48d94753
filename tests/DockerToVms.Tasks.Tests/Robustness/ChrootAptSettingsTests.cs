using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Robustness;

/// <summary>
/// apt in the chroot retries failed downloads, accepts an unsigned archive only when the
/// project allows it, and none of these settings stays in the root filesystem. A fake root
/// filesystem and a runner that runs nothing; the task needs root, as CI has.
/// </summary>
[TestClass]
public sealed class ChrootAptSettingsTests : IDisposable
{
    private const string Settings = "rootfs/etc/apt/apt.conf.d/00dockertovms-build";

    private readonly TemporaryDirectory _folder = new("dtv-chroot-apt-");

    public void Dispose() => _folder.Dispose();

    private string Run(bool allowUnsigned)
    {
        _folder.Write("rootfs/bin/sh", string.Empty);
        _folder.CreateFolder("rootfs/etc/apt/apt.conf.d");
        _folder.CreateFolder("rootfs/usr/sbin");
        var seen = string.Empty;
        var runner = new FakeToolRunner(_ =>
        {
            seen = File.ReadAllText(_folder.Combine(Settings));
            return new ToolResult(0, []);
        });
        var engine = new RecordingBuildEngine();

        var succeeded = new ChrootExecTask
        {
            BuildEngine = engine,
            RootDirectory = _folder.Combine("rootfs"),
            Packages = ["hello"],
            AllowUnsigned = allowUnsigned,
            Runner = runner,
        }.Execute();

        Assert.IsTrue(succeeded, engine.Log);
        Assert.IsFalse(File.Exists(_folder.Combine(Settings)), "gone after the steps");
        return seen;
    }

    [TestMethod]
    public void Apt_retries_failed_downloads_during_the_steps_only()
    {
        var seen = Run(allowUnsigned: false);

        StringAssert.Contains(seen, "Acquire::Retries \"3\";");
        Assert.IsFalse(seen.Contains("AllowInsecureRepositories", StringComparison.Ordinal));
        Assert.IsFalse(seen.Contains("AllowUnauthenticated", StringComparison.Ordinal));
    }

    [TestMethod]
    public void Apt_accepts_an_unsigned_archive_only_when_the_project_allows_it()
    {
        var seen = Run(allowUnsigned: true);

        StringAssert.Contains(seen, "Acquire::AllowInsecureRepositories \"true\";");
        StringAssert.Contains(seen, "APT::Get::AllowUnauthenticated \"true\";");
    }
}
