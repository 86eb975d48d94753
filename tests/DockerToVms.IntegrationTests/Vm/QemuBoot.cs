using System.Diagnostics;
using System.Text;

namespace DockerToVms.IntegrationTests.Vm;

/// <summary>What a boot printed on its serial console, and how it ended.</summary>
/// <param name="Console">Everything the machine printed.</param>
/// <param name="MarkerAfter">When the marker line appeared, or null if it never did.</param>
/// <param name="ExitedByItself">Whether QEMU ended before the time limit.</param>
/// <param name="ExitCode">QEMU's exit code (-1 when it was killed).</param>
public sealed record BootResult(string Console, TimeSpan? MarkerAfter, bool ExitedByItself,
    int ExitCode);

/// <summary>
/// Boots an image in QEMU under software emulation (TCG), serial console on standard output,
/// with a hard time limit after which the process is killed and reaped.
/// </summary>
public static class QemuBoot
{
    /// <summary>The longest a boot may take before it is killed.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(180);

    /// <summary>The UEFI firmware code of the ovmf package (4 MiB flash layout first).</summary>
    public static string OvmfCode => First("/usr/share/OVMF/OVMF_CODE_4M.fd",
        "/usr/share/OVMF/OVMF_CODE.fd");

    private static string OvmfVars => First("/usr/share/OVMF/OVMF_VARS_4M.fd",
        "/usr/share/OVMF/OVMF_VARS.fd");

    /// <summary>
    /// Boots with the drive arguments given; with <paramref name="uefi"/> through OVMF with a
    /// private copy of its variable store, else through SeaBIOS.
    /// </summary>
    public static async Task<BootResult> RunAsync(string marker, bool uefi, string work,
        params string[] drives)
    {
        var arguments = new List<string>
        {
            "-accel", "tcg", "-m", "512", "-smp", "1", "-nographic", "-no-reboot",
            "-nic", "none",
        };
        if (uefi)
        {
            var vars = Path.Combine(work, "OVMF_VARS.fd");
            File.Copy(OvmfVars, vars, overwrite: true);
            arguments.AddRange(["-drive", $"if=pflash,format=raw,readonly=on,file={OvmfCode}",
                "-drive", $"if=pflash,format=raw,file={vars}"]);
        }

        arguments.AddRange(drives);
        var start = new ProcessStartInfo("qemu-system-x86_64", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };

        var console = new StringBuilder();
        TimeSpan? markerAfter = null;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (console)
            {
                console.AppendLine(line);
                if (markerAfter is null && line.Contains(marker, StringComparison.Ordinal))
                {
                    markerAfter = clock.Elapsed;
                }
            }
        }

        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(Limit);
        var exitedByItself = true;
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            exitedByItself = false;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        lock (console)
        {
            return new BootResult(console.ToString(), markerAfter, exitedByItself,
                exitedByItself ? process.ExitCode : -1);
        }
    }

    private static string First(params string[] paths) =>
        paths.FirstOrDefault(File.Exists) ?? paths[0];
}
