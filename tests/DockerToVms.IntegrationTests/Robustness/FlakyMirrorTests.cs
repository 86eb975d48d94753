using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.IntegrationTests.Robustness;

/// <summary>
/// A bootstrap and an apt install from a mirror that fails now and then: the mirror check,
/// debootstrap and apt each try again, and the build succeeds.
/// </summary>
[TestClass]
public sealed class FlakyMirrorTests
{
    // The first request of each of these fails with 503: the Release file (the mirror check
    // asks for it), the package lists (they end debootstrap's first run), and the package
    // installed with apt afterwards. The signed InRelease is left alone: without it
    // debootstrap falls back to Release and Release.gpg, which a mirror in the middle of an
    // update may serve from two different states.
    private static bool FailsOnce(string path) =>
        path.EndsWith("/Release", StringComparison.Ordinal)
        || path.Contains("/binary-amd64/", StringComparison.Ordinal)
        || path.Contains("/hello_", StringComparison.Ordinal);

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public void A_bootstrap_and_an_install_from_a_flaky_mirror_are_retried_and_succeed()
    {
        using var mirror = new FlakyMirror(FailsOnce);
        using var rootfs = new TemporaryRootfs();
        var engine = new RecordingBuildEngine();

        var bootstrapped = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = SharedRootfs.Suite,
            Mirror = mirror.Address,
            TargetDirectory = rootfs.Directory,
        }.Execute();

        Assert.IsTrue(bootstrapped, engine.Log);
        Assert.AreEqual(2, engine.Messages.Count(m => m.Message!.StartsWith("unshare ",
            StringComparison.Ordinal) && m.Message.Contains("debootstrap",
            StringComparison.Ordinal)), "one more debootstrap run after the failed one\n"
            + engine.Log);
        StringAssert.Contains(engine.Log, "trying again");
        Assert.IsGreaterThanOrEqualTo(2, mirror.RequestsFor(p => p == "dists/trixie/Release"),
            "the mirror check asked again");

        var installEngine = new RecordingBuildEngine();
        var installed = new ChrootExecTask
        {
            BuildEngine = installEngine,
            RootDirectory = rootfs.Directory,
            Packages = ["hello"],
        }.Execute();

        Assert.IsTrue(installed, installEngine.Log);
        Assert.IsTrue(File.Exists(Path.Combine(rootfs.Directory, "usr/bin/hello")));
        Assert.AreEqual(2, mirror.RequestsFor(p => p.Contains("/hello_",
            StringComparison.Ordinal)), "apt asked again for the package");
        Assert.IsFalse(File.Exists(Path.Combine(rootfs.Directory,
            "etc/apt/apt.conf.d/00dockertovms-build")), "the build's apt settings are gone");
        Assert.IsEmpty(rootfs.Mounts);
    }
}
