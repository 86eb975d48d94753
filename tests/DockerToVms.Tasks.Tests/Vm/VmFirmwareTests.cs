using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>VmFirmware: the firmware VmRun boots a disk or ISO through.</summary>
[TestClass]
public sealed class VmFirmwareTests
{
    private static QemuCommand.Machine Disk(string image = "/vm/disk.img") =>
        new("amd64", "disk", "/vm/vmlinuz", image, "console=ttyS0", 512, 2, "tcg", 0, 0);

    [TestMethod]
    public void By_default_a_VM_boots_through_QEMU_s_BIOS()
    {
        Assert.AreEqual(string.Empty, VmRunTask.UefiFirmware("bios", "amd64", _ => true));
        CollectionAssert.DoesNotContain(QemuCommand.Arguments(Disk()).ToList(), "-bios");
    }

    [TestMethod]
    public void I_can_boot_through_UEFI_with_the_ovmf_firmware()
    {
        var firmware = VmRunTask.UefiFirmware("uefi", "amd64",
            path => path == QemuCommand.UefiFirmwareCandidates[^1]);
        var arguments = QemuCommand.Arguments(Disk() with { UefiFirmwarePath = firmware })
            .ToList();

        Assert.AreEqual(QemuCommand.UefiFirmwareCandidates[^1], firmware);
        Assert.AreEqual(firmware, arguments[arguments.IndexOf("-bios") + 1]);
    }

    [TestMethod]
    public void UEFI_without_the_firmware_installed_says_to_install_ovmf()
    {
        var error = Assert.ThrowsExactly<DtvException>(
            () => VmRunTask.UefiFirmware("uefi", "amd64", _ => false));

        Assert.AreEqual("DTV5071", error.Code);
    }

    [TestMethod]
    public void A_firmware_that_does_not_exist_is_refused()
    {
        var error = Assert.ThrowsExactly<DtvException>(
            () => VmRunTask.UefiFirmware("coreboot", "amd64", _ => true));

        Assert.AreEqual("DTV5070", error.Code);
    }

    [TestMethod]
    public void I_can_boot_the_qcow2_copy_of_a_disk()
    {
        var arguments = QemuCommand.Arguments(Disk("/vm/disk.qcow2")).ToList();

        StringAssert.Contains(arguments[arguments.IndexOf("-drive") + 1], "format=qcow2");
    }
}
