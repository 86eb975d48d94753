using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>The QEMU command line VmRun and the tests boot with.</summary>
[TestClass]
public sealed class QemuCommandTests
{
    private static QemuCommand.Machine Machine(string architecture = "amd64",
        string format = "initramfs", int hostPort = 0, int guestPort = 0) =>
        new(architecture, format, "/vm/vmlinuz", "/vm/initramfs.img", "console=ttyS0 quiet",
            512, 2, "tcg", hostPort, guestPort);

    private static string ValueAfter(IReadOnlyList<string> arguments, string option)
    {
        var index = arguments.ToList().IndexOf(option);
        Assert.IsGreaterThanOrEqualTo(0, index, option + " missing: " + string.Join(' ', arguments));
        return arguments[index + 1];
    }

    [TestMethod]
    public void An_initramfs_boots_its_kernel_directly_with_the_console_on_standard_output()
    {
        var arguments = QemuCommand.Arguments(Machine());

        Assert.AreEqual("/vm/vmlinuz", ValueAfter(arguments, "-kernel"));
        Assert.AreEqual("/vm/initramfs.img", ValueAfter(arguments, "-initrd"));
        Assert.AreEqual("console=ttyS0 quiet", ValueAfter(arguments, "-append"));
        Assert.AreEqual("stdio", ValueAfter(arguments, "-serial"));
        Assert.AreEqual("512", ValueAfter(arguments, "-m"));
        Assert.AreEqual("2", ValueAfter(arguments, "-smp"));
        Assert.AreEqual("tcg", ValueAfter(arguments, "-accel"));
        Assert.AreEqual("max", ValueAfter(arguments, "-cpu"));
        CollectionAssert.Contains(arguments.ToList(), "-no-reboot");
        Assert.AreEqual("qemu-system-x86_64", QemuCommand.ProgramFor("amd64"));
    }

    [TestMethod]
    public void A_port_is_forwarded_from_the_host_loopback_only()
    {
        var arguments = QemuCommand.Arguments(Machine(hostPort: 18080, guestPort: 8080));

        Assert.AreEqual("user,id=net0,hostfwd=tcp:127.0.0.1:18080-:8080",
            ValueAfter(arguments, "-netdev"));
        Assert.AreEqual("virtio-net-pci,netdev=net0,romfile=", ValueAfter(arguments, "-device"));
    }

    [TestMethod]
    public void Without_a_port_the_network_forwards_nothing()
    {
        Assert.AreEqual("user,id=net0", ValueAfter(QemuCommand.Arguments(Machine()), "-netdev"));
    }

    [TestMethod]
    public void A_disk_and_an_iso_boot_from_their_own_boot_loader()
    {
        var disk = QemuCommand.Arguments(Machine(format: "disk"));
        var iso = QemuCommand.Arguments(Machine(format: "iso"));

        StringAssert.StartsWith(ValueAfter(disk, "-drive"), "file=/vm/initramfs.img,format=raw");
        StringAssert.Contains(ValueAfter(iso, "-drive"), "media=cdrom");
        CollectionAssert.Contains(iso.ToList(), "scsi-cd,drive=cd0,bootindex=0");
        CollectionAssert.DoesNotContain(disk.ToList(), "-kernel");
        CollectionAssert.DoesNotContain(iso.ToList(), "-kernel");
    }

    [TestMethod]
    public void An_arm64_vm_uses_the_virt_board_and_its_own_console()
    {
        var arguments = QemuCommand.Arguments(Machine(architecture: "arm64"));

        Assert.AreEqual("virt", ValueAfter(arguments, "-machine"));
        Assert.AreEqual("max", ValueAfter(arguments, "-cpu"));
        Assert.AreEqual("qemu-system-aarch64", QemuCommand.ProgramFor("arm64"));
        StringAssert.Contains(QemuCommand.DefaultKernelCommandLine("arm64"), "console=ttyAMA0");
    }
}
