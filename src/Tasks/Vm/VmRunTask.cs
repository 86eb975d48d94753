using System.Globalization;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Boots a VM image in QEMU with its serial console in the build log and a host port
/// forwarded to the guest, and waits for the machine to power off after the app. KVM is
/// used only when a kernel really boots under it here (see <see cref="KvmProbe"/>).
/// </summary>
public sealed class VmRunTask : AsyncTask
{
    /// <summary>The Debian architecture of the VM.</summary>
    [Required]
    public string Architecture { get; set; } = string.Empty;

    /// <summary>initramfs, disk or iso.</summary>
    public string Format { get; set; } = "initramfs";

    /// <summary>The kernel; for the initramfs format, and for the KVM probe.</summary>
    public string KernelPath { get; set; } = string.Empty;

    /// <summary>The initramfs, raw disk or ISO.</summary>
    [Required]
    public string ImagePath { get; set; } = string.Empty;

    /// <summary>The kernel command line (initramfs format); empty for the default.</summary>
    public string KernelCommandLine { get; set; } = string.Empty;

    /// <summary>Memory in megabytes.</summary>
    public int MemoryMegabytes { get; set; } = 512;

    /// <summary>Virtual processors.</summary>
    public int Cpus { get; set; } = 1;

    /// <summary>auto (KVM when it works), kvm or tcg.</summary>
    public string Accelerator { get; set; } = "auto";

    /// <summary>bios (the default) or uefi: the firmware the disk and ISO boot through.</summary>
    public string Firmware { get; set; } = "bios";

    /// <summary>A port of 127.0.0.1 forwarded to <see cref="GuestPort"/>; 0 for none.</summary>
    public int HostPort { get; set; }

    /// <summary>The guest's port the host port leads to.</summary>
    public int GuestPort { get; set; }

    /// <summary>Seconds after which the machine is stopped and the run fails; 0 for none.</summary>
    public int Timeout { get; set; }

    /// <summary>The app's exit code.</summary>
    [Output]
    public int ExitCode { get; private set; }

    /// <summary>The accelerator used: kvm or tcg.</summary>
    [Output]
    public string UsedAccelerator { get; private set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var uefi = UefiFirmware(Firmware, Architecture, File.Exists);
        if (Accelerator is not ("auto" or "kvm" or "tcg"))
        {
            throw new DtvException("VmAcceleratorUnknown", Accelerator);
        }

        // QEMU would start without them and end with a console that says little; the usual
        // cause is a publish with another format, configuration or runtime identifier.
        foreach (var file in new[] { ImagePath, KernelPath })
        {
            if (file.Length > 0 && !File.Exists(file))
            {
                throw new DtvException("VmImageMissing", file, Format);
            }
        }

        UsedAccelerator = Accelerator;
        if (Accelerator == "auto")
        {
            var probe = new KvmProbe(GetRunner());
            UsedAccelerator = KernelPath.Length == 0
                ? "tcg"
                : await probe.ChooseAsync(Architecture, KernelPath, KvmProbe.DefaultTimeout,
                    cancellation).ConfigureAwait(false);
            Log.LogMessageFromResources(MessageImportance.High, "VmAcceleratorChosen",
                UsedAccelerator, probe.Reason);
        }

        var machine = new QemuCommand.Machine(Architecture, Format, KernelPath, ImagePath,
            KernelCommandLine.Length > 0
                ? KernelCommandLine
                : QemuCommand.DefaultKernelCommandLine(Architecture),
            MemoryMegabytes, Cpus, UsedAccelerator, HostPort, GuestPort)
        {
            UefiFirmwarePath = uefi,
        };
        var console = new VmConsole(GetRunner(),
            line => Log.LogMessage(MessageImportance.High, "{0}", line));
        ExitCode = await console.RunAsync(machine, TimeSpan.FromSeconds(Timeout), cancellation)
            .ConfigureAwait(false);
        if (ExitCode != 0)
        {
            throw new DtvException("VmAppFailed", ExitCode.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// The UEFI firmware image for VmFirmware=uefi, or empty for bios; checked before anything
    /// boots. Only x86 firmware is looked for.
    /// </summary>
    public static string UefiFirmware(string firmware, string architecture,
        Func<string, bool> exists)
    {
        if (firmware is "bios" or "")
        {
            return string.Empty;
        }

        if (firmware != "uefi")
        {
            throw new DtvException("VmFirmwareUnknown", firmware);
        }

        return (architecture is "amd64" or "i386"
                ? QemuCommand.UefiFirmwareCandidates.FirstOrDefault(exists)
                : null)
            ?? throw new DtvException("VmUefiFirmwareMissing", architecture,
                string.Join(", ", QemuCommand.UefiFirmwareCandidates));
    }
}
