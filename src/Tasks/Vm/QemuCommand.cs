using System.Globalization;
using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Vm;

/// <summary>The QEMU command line that boots a VM image with its console on standard output.</summary>
public static class QemuCommand
{
    /// <summary>A VM to boot.</summary>
    /// <param name="Architecture">The Debian architecture of the guest.</param>
    /// <param name="Format">initramfs, disk or iso.</param>
    /// <param name="ImagePath">The initramfs (with <paramref name="KernelPath"/>), the raw
    /// disk or the ISO.</param>
    /// <param name="KernelPath">The kernel, for the initramfs format.</param>
    /// <param name="KernelCommandLine">The kernel's command line (initramfs format).</param>
    /// <param name="MemoryMegabytes">The guest's memory.</param>
    /// <param name="Cpus">The guest's virtual processors.</param>
    /// <param name="Accelerator">kvm or tcg.</param>
    /// <param name="HostPort">A port of 127.0.0.1 forwarded to <paramref name="GuestPort"/>;
    /// 0 forwards nothing.</param>
    /// <param name="GuestPort">The guest's port for the forwarded host port.</param>
    public sealed record Machine(string Architecture, string Format, string KernelPath,
        string ImagePath, string KernelCommandLine, int MemoryMegabytes, int Cpus,
        string Accelerator, int HostPort, int GuestPort)
    {
        /// <summary>A UEFI firmware image to boot through; empty for QEMU's BIOS.</summary>
        public string UefiFirmwarePath { get; init; } = string.Empty;
    }

    /// <summary>
    /// Where Debian's and Ubuntu's ovmf package puts the x86 UEFI firmware as one image, code
    /// and variables together, that -bios loads (variables then last only one boot).
    /// </summary>
    public static readonly IReadOnlyList<string> UefiFirmwareCandidates =
        ["/usr/share/ovmf/OVMF.fd", "/usr/share/qemu/OVMF.fd"];

    /// <summary>qemu-system-x86_64, qemu-system-aarch64, ... for a Debian architecture.</summary>
    public static string ProgramFor(string architecture) =>
        "qemu-system-" + DebianArchitecture.ToQemu(architecture);

    /// <summary>The Debian package with that QEMU system emulator.</summary>
    public static string PackageFor(string architecture) => architecture switch
    {
        "amd64" or "i386" => "qemu-system-x86",
        "arm64" or "armhf" or "armel" => "qemu-system-arm",
        "ppc64el" => "qemu-system-ppc",
        _ => "qemu-system-misc",
    };

    /// <summary>The serial console's device name in the guest, for console=.</summary>
    public static string ConsoleFor(string architecture) => architecture switch
    {
        "arm64" or "armhf" or "armel" => "ttyAMA0",
        "s390x" => "ttysclp0",
        "ppc64el" => "hvc0",
        _ => "ttyS0",
    };

    /// <summary>The kernel command line when the project sets none.</summary>
    public static string DefaultKernelCommandLine(string architecture) =>
        $"console={ConsoleFor(architecture)} quiet panic=-1";

    /// <summary>The arguments of qemu-system-* for the machine.</summary>
    public static IReadOnlyList<string> Arguments(Machine machine)
    {
        var arguments = new List<string>();
        if (machine.Architecture is "arm64" or "armhf" or "armel")
        {
            // The virt board has PCI for virtio.
            arguments.AddRange(["-machine", "virt"]);
        }

        // Under emulation the most capable model: the app's runtime then takes its vector
        // code paths, which run in fewer emulated instructions (the console sample starts
        // in about half the time than on QEMU's default qemu64).
        arguments.AddRange(["-cpu", machine.Accelerator == "kvm" ? "host" : "max"]);

        arguments.AddRange(
        [
            "-accel", machine.Accelerator,
            "-m", Invariant(machine.MemoryMegabytes),
            "-smp", Invariant(machine.Cpus),
            // Nothing but what is asked for: no default NIC, VGA or monitor; the serial port
            // is the console, on standard output; -no-reboot ends QEMU on a guest reboot or
            // kernel panic (panic=-1) rather than booting again.
            "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
            "-no-reboot",
        ]);

        if (machine.UefiFirmwarePath.Length > 0)
        {
            arguments.AddRange(["-bios", machine.UefiFirmwarePath]);
        }

        switch (machine.Format)
        {
            case "disk":
                // The raw disk or its qcow2 copy, told apart by name as the writer names them.
                var format = machine.ImagePath.EndsWith(".qcow2", StringComparison.Ordinal)
                    ? "qcow2"
                    : "raw";
                arguments.AddRange(["-drive",
                    $"file={machine.ImagePath},format={format},if=virtio,cache=unsafe"]);
                break;
            case "iso":
                // A CD drive on virtio-scsi rather than QEMU's default IDE: the kernel's
                // virtio modules are loaded anyway, and the firmware boots from it too.
                arguments.AddRange(
                [
                    "-device", "virtio-scsi-pci,id=scsi0",
                    "-drive", $"file={machine.ImagePath},if=none,id=cd0,media=cdrom,readonly=on",
                    "-device", "scsi-cd,drive=cd0,bootindex=0",
                ]);
                break;
            default:
                arguments.AddRange(["-kernel", machine.KernelPath, "-initrd", machine.ImagePath,
                    "-append", machine.KernelCommandLine]);
                break;
        }

        var netdev = "user,id=net0";
        if (machine.HostPort > 0 && machine.GuestPort > 0)
        {
            netdev += $",hostfwd=tcp:127.0.0.1:{Invariant(machine.HostPort)}-:"
                + Invariant(machine.GuestPort);
        }

        // No option ROM: the VM never boots from the network, and the firmware starting
        // iPXE costs seconds under emulation.
        arguments.AddRange(["-netdev", netdev, "-device", "virtio-net-pci,netdev=net0,romfile="]);
        return arguments;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
