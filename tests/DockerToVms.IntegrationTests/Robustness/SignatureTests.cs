using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.IntegrationTests.Robustness;

/// <summary>The archive's signature is always checked, and a failed check says so.</summary>
[TestClass]
public sealed class SignatureTests
{
    // Keys Debian no longer signs with: the archive's signature cannot be checked with them.
    private const string UnrelatedKeyring = "/usr/share/keyrings/debian-archive-removed-keys.gpg";

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void A_suite_signed_by_a_key_not_in_the_keyring_fails_with_DTV1021()
    {
        if (!File.Exists(UnrelatedKeyring))
        {
            Assert.Inconclusive($"{UnrelatedKeyring} is missing (apt-get install debian-archive-keyring)");
        }

        using var rootfs = new TemporaryRootfs();
        var engine = new RecordingBuildEngine();

        var succeeded = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = SharedRootfs.Suite,
            Mirror = SharedRootfs.Mirror,
            TargetDirectory = rootfs.Directory,
            Keyring = UnrelatedKeyring,
        }.Execute();

        Assert.IsFalse(succeeded);
        CollectionAssert.AreEqual(new[] { "DTV1021" }, engine.ErrorCodes.ToArray(), engine.Log);
        StringAssert.Contains(engine.Errors[0].Message, UnrelatedKeyring);
        Assert.IsEmpty(rootfs.Mounts);
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void An_empty_keyring_fails_with_DTV1021()
    {
        using var rootfs = new TemporaryRootfs();
        var keyring = Path.Combine(Path.GetDirectoryName(rootfs.Directory)!, "empty.gpg");
        File.WriteAllBytes(keyring, []);
        var engine = new RecordingBuildEngine();

        var succeeded = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = SharedRootfs.Suite,
            Mirror = SharedRootfs.Mirror,
            TargetDirectory = rootfs.Directory,
            Keyring = keyring,
        }.Execute();

        Assert.IsFalse(succeeded);
        CollectionAssert.AreEqual(new[] { "DTV1021" }, engine.ErrorCodes.ToArray(), engine.Log);
    }
}
