using System.Globalization;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

[TestClass]
public sealed class DiskLayoutTests
{
    private static readonly Guid s_seed = new("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");

    [TestMethod]
    public void Partitions_are_aligned_to_whole_MiB_and_the_root_fills_the_disk()
    {
        var layout = DiskLayout.Create(512, 32, 400, s_seed)!;

        Assert.AreEqual(2048, layout.BiosBoot.Start);
        Assert.AreEqual(2048, layout.BiosBoot.Sectors);
        Assert.AreEqual(4096, layout.Esp.Start);
        Assert.AreEqual(32 * 2048, layout.Esp.Sectors);
        Assert.AreEqual(layout.Esp.Start + layout.Esp.Sectors, layout.Root.Start);

        // The last MiB is left for the backup GPT.
        Assert.AreEqual((512 - 1) * 2048, layout.Root.Start + layout.Root.Sectors);
        Assert.AreEqual(0, layout.Root.Offset % DiskLayout.MiB);
    }

    [TestMethod]
    public void A_disk_too_small_for_the_root_has_no_layout()
    {
        Assert.IsNull(DiskLayout.Create(100, 32, 66, s_seed));
        Assert.IsNotNull(DiskLayout.Create(100, 32, 65, s_seed));
        Assert.AreEqual(35, DiskLayout.OverheadMiB(32));
    }

    [TestMethod]
    public void The_default_size_leaves_room_and_is_a_multiple_of_64_MiB()
    {
        var small = DiskLayout.DefaultTotalMiB(32, 100);
        var large = DiskLayout.DefaultTotalMiB(32, 4000);

        Assert.AreEqual(256, small);
        Assert.AreEqual(0, large % 64);
        Assert.IsTrue(large >= 4000 + 1000 + 35, large.ToString(CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void The_EFI_partition_holds_the_kernel_and_initramfs_with_room_to_spare()
    {
        Assert.AreEqual(32, DiskLayout.EspMiB(10 * DiskLayout.MiB, 1 * DiskLayout.MiB));
        Assert.AreEqual(84, DiskLayout.EspMiB(40 * DiskLayout.MiB, 8 * DiskLayout.MiB));
    }

    [TestMethod]
    public void The_same_seed_gives_the_same_partition_table()
    {
        var first = DiskLayout.Create(512, 32, 400, s_seed)!.SfdiskScript();
        var second = DiskLayout.Create(512, 32, 400, s_seed)!.SfdiskScript();
        var other = DiskLayout.Create(512, 32, 400, Guid.Empty)!.SfdiskScript();

        Assert.AreEqual(first, second);
        Assert.AreNotEqual(first, other);
        StringAssert.StartsWith(first, "label: gpt\n");
        StringAssert.Contains(first, $"start=2048, size=2048, type={DiskLayout.BiosBootType}");
        StringAssert.Contains(first, $"start=4096, size=65536, type={DiskLayout.EspType}");
        StringAssert.Contains(first, $"start=69632, size=976896, type={DiskLayout.LinuxType}");
    }

    [TestMethod]
    public void Derived_identifiers_are_version_4_GUIDs()
    {
        var id = DiskLayout.Derive(s_seed, 3).ToString();

        Assert.AreEqual('4', id[14]);
        Assert.IsTrue("89ab".Contains(id[19], StringComparison.Ordinal), id);
        Assert.AreEqual(id, DiskLayout.Derive(s_seed, 3).ToString());
    }
}
