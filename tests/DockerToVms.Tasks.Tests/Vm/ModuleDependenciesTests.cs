using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>The modules a VM loads: each after what it depends on, each once.</summary>
[TestClass]
public sealed class ModuleDependenciesTests
{
    private static readonly string[] s_modulesDep =
    [
        "kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz "
            + "kernel/net/core/failover.ko.xz",
        "kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz",
        "kernel/net/core/failover.ko.xz:",
        "kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz "
            + "kernel/fs/jbd2/jbd2.ko.xz",
        "kernel/lib/crc16.ko.xz:",
        "kernel/fs/mbcache.ko.xz:",
        "kernel/fs/jbd2/jbd2.ko.xz:",
        "kernel/drivers/scsi/sr_mod.ko.xz: kernel/drivers/scsi/scsi_mod.ko.xz "
            + "kernel/drivers/cdrom/cdrom.ko.xz",
        "kernel/fs/isofs/isofs.ko.xz: kernel/drivers/cdrom/cdrom.ko.xz",
        "kernel/drivers/scsi/scsi_mod.ko.xz:",
        "kernel/drivers/cdrom/cdrom.ko.xz:",
        "kernel/drivers/some/virtio-rng.ko:",
    ];

    [TestMethod]
    public void A_module_loads_after_the_modules_it_depends_on()
    {
        var order = ModuleDependencies.Parse(s_modulesDep).LoadOrder(["virtio_net", "ext4"]);

        Expect.Sequence(order,
            "kernel/net/core/failover.ko.xz",
            "kernel/drivers/net/net_failover.ko.xz",
            "kernel/drivers/net/virtio_net.ko.xz",
            "kernel/lib/crc16.ko.xz",
            "kernel/fs/mbcache.ko.xz",
            "kernel/fs/jbd2/jbd2.ko.xz",
            "kernel/fs/ext4/ext4.ko.xz");
    }

    [TestMethod]
    public void A_shared_dependency_loads_once()
    {
        var order = ModuleDependencies.Parse(s_modulesDep).LoadOrder(["sr_mod", "isofs"]);

        Expect.Sequence(order,
            "kernel/drivers/scsi/scsi_mod.ko.xz",
            "kernel/drivers/cdrom/cdrom.ko.xz",
            "kernel/drivers/scsi/sr_mod.ko.xz",
            "kernel/fs/isofs/isofs.ko.xz");
    }

    [TestMethod]
    public void A_driver_built_into_the_kernel_is_not_loaded()
    {
        // virtio_pci is not in modules.dep when the kernel has it built in.
        var order = ModuleDependencies.Parse(s_modulesDep).LoadOrder(["virtio_pci", "virtio_rng"]);

        Expect.Sequence(order, "kernel/drivers/some/virtio-rng.ko");
    }

    [TestMethod]
    public void The_wanted_modules_cover_the_network_and_the_root_file_systems()
    {
        foreach (var module in new[] { "virtio_net", "virtio_blk", "ext4", "squashfs", "overlay",
                     "isofs", "sr_mod" })
        {
            CollectionAssert.Contains(ModuleDependencies.Wanted.ToList(), module);
        }
    }

    [TestMethod]
    public void A_disk_or_iso_finds_every_module_its_first_stage_loads_in_the_kept_kernel()
    {
        foreach (var module in Stage1Initramfs.DiskModules.Concat(Stage1Initramfs.IsoModules)
                     .Concat(Stage1Initramfs.ControllerModules))
        {
            CollectionAssert.Contains(ModuleDependencies.Wanted.ToList(), module);
        }
    }
}
