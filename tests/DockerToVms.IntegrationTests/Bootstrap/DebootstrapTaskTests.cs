using System.Net;
using System.Net.Sockets;
using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.IntegrationTests.Bootstrap;

[TestClass]
public sealed class DebootstrapTaskTests
{
    [TestMethod]
    public async Task I_can_bootstrap_the_default_suite_from_the_real_mirror()
    {
        var root = await SharedRootfs.GetAsync();

        var osRelease = await File.ReadAllTextAsync(Path.Combine(root, "etc/os-release"));
        StringAssert.Contains(osRelease, "VERSION_CODENAME=trixie");
        Assert.IsTrue(File.Exists(Path.Combine(root, "usr/bin/apt-get")), "minbase has apt");
        Assert.IsFalse(Directory.Exists(Path.Combine(root, "usr/share/doc/systemd")),
            "minbase has no init system");
        Assert.IsEmpty(MountTable.Below(root), "debootstrap's mounts must not outlive it");
    }

    [TestMethod]
    public async Task An_unknown_suite_is_named_before_anything_is_downloaded()
    {
        using var target = new TemporaryRootfs();
        var engine = new RecordingBuildEngine();

        var succeeded = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = "no-such-suite",
            Mirror = SharedRootfs.Mirror,
            TargetDirectory = target.Directory,
        }.Execute();

        Assert.IsFalse(succeeded);
        CollectionAssert.AreEqual(new[] { "DTV1002" }, engine.ErrorCodes.ToArray(), engine.Log);
        Assert.IsEmpty(Directory.EnumerateFileSystemEntries(target.Directory));
        await Task.CompletedTask;
    }

    [TestMethod]
    public void An_unreachable_mirror_is_reported_as_such()
    {
        using var target = new TemporaryRootfs();
        var engine = new RecordingBuildEngine();

        var succeeded = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = SharedRootfs.Suite,
            Mirror = $"http://127.0.0.1:{ClosedPort()}/debian",
            TargetDirectory = target.Directory,
        }.Execute();

        Assert.IsFalse(succeeded);
        CollectionAssert.AreEqual(new[] { "DTV1004" }, engine.ErrorCodes.ToArray(), engine.Log);
    }

    // A port that was free a moment ago: connecting to it is refused at once.
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
