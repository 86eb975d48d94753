using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Docker.Daemonless;

/// <summary>
/// What a bootstrap leaves that differs from one day or run to the next, made the same so
/// that two bootstraps of one recipe give one layer.
/// </summary>
[TestClass]
public sealed class RootfsNormaliserTests : IDisposable
{
    private static readonly DateTimeOffset s_epoch = DateTimeOffset.FromUnixTimeSeconds(1735689600);
    private readonly TemporaryDirectory _folder = new("dtv-normalise-");
    private string _root = string.Empty;

    [TestInitialize]
    public void CreateTree()
    {
        _root = _folder.CreateFolder("rootfs");
        _folder.Write("rootfs/etc/shadow",
            "root:*:20426:0:99999:7:::\napp:!:20427::::::\nnobody:*::0:99999:7:::\n");
        _folder.Write("rootfs/etc/shadow-", "root:*:20400:0:99999:7:::\n");
        _folder.Write("rootfs/var/lib/dpkg/status", "Package: base-files\n");
        _folder.Write("rootfs/var/lib/dpkg/status-old", "old");
        _folder.Write("rootfs/var/lib/dpkg/triggers-old", "old");
        _folder.Write("rootfs/var/cache/debconf/config.dat-old", "old");
        _folder.Write("rootfs/var/lib/systemd/random-seed", "random");
        _folder.Write("rootfs/var/lib/urandom/random-seed", "random");
    }

    public void Dispose() => _folder.Dispose();

    private bool Exists(string relative) => File.Exists(Path.Combine(_root, relative));

    private string Read(string relative) => File.ReadAllText(Path.Combine(_root, relative));

    [TestMethod]
    public void Password_changes_are_dated_at_the_day_of_SOURCE_DATE_EPOCH()
    {
        RootfsNormaliser.Normalise(_root, TrimLevel.Slim, s_epoch);

        Assert.AreEqual(
            "root:*:20089:0:99999:7:::\napp:!:20089::::::\nnobody:*::0:99999:7:::\n",
            Read("etc/shadow"), "an empty day stays empty");
        Assert.AreEqual("root:*:20089:0:99999:7:::\n", Read("etc/shadow-"));
    }

    [TestMethod]
    public void Without_SOURCE_DATE_EPOCH_the_shadow_file_is_kept()
    {
        RootfsNormaliser.Normalise(_root, TrimLevel.Slim, null);

        StringAssert.StartsWith(Read("etc/shadow"), "root:*:20426:");
    }

    [TestMethod]
    public void Random_seeds_and_old_copies_of_the_package_databases_go()
    {
        RootfsNormaliser.Normalise(_root, TrimLevel.App, s_epoch);

        Assert.IsFalse(Exists("var/lib/dpkg/status-old"));
        Assert.IsFalse(Exists("var/lib/dpkg/triggers-old"));
        Assert.IsFalse(Exists("var/cache/debconf/config.dat-old"));
        Assert.IsFalse(Exists("var/lib/systemd/random-seed"));
        Assert.IsFalse(Exists("var/lib/urandom/random-seed"));
        Assert.IsTrue(Exists("var/lib/dpkg/status"));
    }

    [TestMethod]
    public void Trim_level_none_removes_nothing()
    {
        RootfsNormaliser.Normalise(_root, TrimLevel.None, s_epoch);

        Assert.IsTrue(Exists("var/lib/dpkg/status-old"));
        Assert.IsTrue(Exists("var/lib/systemd/random-seed"));
    }

    [TestMethod]
    public void A_link_in_the_way_is_not_followed()
    {
        var outside = _folder.Write("outside/shadow", "root:*:1:0:99999:7:::\n");
        File.Delete(Path.Combine(_root, "etc/shadow"));
        File.CreateSymbolicLink(Path.Combine(_root, "etc/shadow"), outside);

        RootfsNormaliser.Normalise(_root, TrimLevel.Slim, s_epoch);

        Assert.AreEqual("root:*:1:0:99999:7:::\n", File.ReadAllText(outside));
    }
}
