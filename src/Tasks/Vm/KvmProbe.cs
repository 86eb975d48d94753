using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Decides between KVM and software emulation (TCG). /dev/kvm existing is not enough: on
/// nested or restricted machines it opens, and a VM may even start, yet the guest kernel
/// stops on an instruction KVM cannot run, and QEMU hangs or the guest crashes. So the VM's
/// own kernel is booted under KVM without a root filesystem; a working KVM lets it reach the
/// panic for the missing root and, with panic=-1 and -no-reboot, QEMU ends with 0. Any other
/// end within the time limit, a crash that also ends in a panic among them, means TCG.
/// </summary>
public sealed class KvmProbe
{
    /// <summary>How long a kernel gets to reach its panic under KVM; a working KVM needs
    /// about a second.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(8);

    // What the kernel's panic says when it finds no root file system to mount.
    private const string MissingRootPanic = "VFS: Unable to mount root fs";

    private readonly IToolRunner _runner;
    private readonly string _kvmDevice;

    /// <summary>Creates the probe; <paramref name="kvmDevice"/> is /dev/kvm outside tests.</summary>
    public KvmProbe(IToolRunner runner, string kvmDevice = "/dev/kvm")
    {
        _runner = runner;
        _kvmDevice = kvmDevice;
    }

    /// <summary>Why the choice was made, for the build log.</summary>
    public string Reason { get; private set; } = string.Empty;

    /// <summary>Returns kvm when a kernel really boots under KVM here, tcg otherwise.</summary>
    public async Task<string> ChooseAsync(string architecture, string kernelPath,
        TimeSpan timeout, CancellationToken cancellation)
    {
        if (architecture != DebianArchitecture.Host)
        {
            Reason = $"{architecture} differs from this machine's {DebianArchitecture.Host}";
            return "tcg";
        }

        if (!CanOpen(_kvmDevice))
        {
            Reason = _kvmDevice + " is missing or cannot be opened";
            return "tcg";
        }

        var machine = new QemuCommand.Machine(architecture, "initramfs", kernelPath,
            "/dev/null", "panic=-1 loglevel=0 console=" + QemuCommand.ConsoleFor(architecture),
            128, 1, "kvm", 0, 0);
        var arguments = QemuCommand.Arguments(machine).ToList();

        // No initramfs and no network: the kernel is to find no root and panic.
        var initrd = arguments.IndexOf("-initrd");
        arguments.RemoveRange(initrd, 2);
        var netdev = arguments.IndexOf("-netdev");
        arguments.RemoveRange(netdev, arguments.Count - netdev);

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        limit.CancelAfter(timeout);
        try
        {
            var result = await _runner.RunAsync(
                new ToolCommand(QemuCommand.ProgramFor(architecture), arguments)
                {
                    GracePeriod = TimeSpan.Zero,
                },
                limit.Token).ConfigureAwait(false);
            // The panic must be the one for the missing root: a guest that crashes under a
            // broken KVM panics too, and QEMU ends with 0 as well.
            var reachedRoot = result.LastLines.Any(line =>
                line.Contains(MissingRootPanic, StringComparison.Ordinal));
            Reason = (result.ExitCode, reachedRoot) switch
            {
                (0, true) => "a kernel boots under KVM",
                (0, false) => "a kernel crashed under KVM before it looked for its root",
                _ => $"QEMU with KVM ended with code {result.ExitCode}",
            };
            return result.ExitCode == 0 && reachedRoot ? "kvm" : "tcg";
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            Reason = $"a kernel did not finish booting under KVM within {timeout.TotalSeconds} s";
            return "tcg";
        }
    }

    private static bool CanOpen(string device)
    {
        try
        {
            using var handle = File.OpenHandle(device, FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
