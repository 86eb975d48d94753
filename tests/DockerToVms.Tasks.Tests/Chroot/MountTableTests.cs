using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Chroot;

[TestClass]
public sealed class MountTableTests
{
    [TestMethod]
    public void A_fresh_folder_has_nothing_mounted_below_it()
    {
        using var folder = new TemporaryDirectory("dtv-mounts-");
        folder.CreateFolder("proc");
        folder.CreateFolder("dev/pts");

        Assert.AreEqual(0, MountTable.Below(folder.Path).Count);
    }

    [TestMethod]
    public void The_machine_root_is_listed_for_the_machine_root()
    {
        // Every mount on the machine is at or below "/", and "/" itself is one of them.
        var mounts = MountTable.Below("/");

        CollectionAssert.Contains(mounts.ToList(), "/");
        Assert.AreEqual("/", mounts[^1]);
    }
}
