using System.Diagnostics;
using System.Globalization;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Writes a VM root directory as a compressed initramfs (newc cpio) for direct kernel boot,
/// and refuses one that would not fit the VM's memory: the kernel holds the compressed
/// archive and the unpacked root in RAM at the same time while it boots.
/// </summary>
/// <remarks>
/// zstd when the build machine has it: a kernel unpacks it several times faster than gzip,
/// which is most of the boot under software emulation. Without it, gzip, which .NET writes
/// itself. Kernels of Debian 12 and later accept both.
/// </remarks>
public sealed class WriteInitramfsTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>Megabytes a booted kernel and the app need besides the root filesystem.</summary>
    public const long HeadroomMegabytes = 128;

    /// <summary>The VM root directory (with /init).</summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>The initramfs to write.</summary>
    [Required]
    public string OutputPath { get; set; } = string.Empty;

    /// <summary>The VM's memory (VmMemoryMegabytes).</summary>
    public long MemoryMegabytes { get; set; } = 512;

    /// <summary>The written initramfs.</summary>
    [Output]
    public string ImagePath { get; private set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var written = await WriteAsync(cancellation).ConfigureAwait(false);
        var needed = NeededMegabytes(written);
        if (needed > MemoryMegabytes)
        {
            File.Delete(OutputPath);
            throw new DtvException("VmRootTooLarge", Megabytes(written.UncompressedBytes),
                Megabytes(written.CompressedBytes), needed, MemoryMegabytes);
        }

        ImagePath = OutputPath;
        Log.LogMessageFromResources(MessageImportance.High, "VmImageWritten", OutputPath,
            Megabytes(written.CompressedBytes), Megabytes(written.UncompressedBytes));
        LogStageTime("the initramfs", clock.Elapsed);
    }

    private async Task<InitramfsWriter.Result> WriteAsync(CancellationToken cancellation)
    {
        if (GetRunner().Find("zstd") is null)
        {
            return InitramfsWriter.Write(RootDirectory, OutputPath, gzip: true);
        }

        var plain = OutputPath + ".cpio";
        var partial = OutputPath + ".zst-partial";
        try
        {
            var archive = InitramfsWriter.Write(RootDirectory, plain, gzip: false);
            var result = await GetRunner().RunAsync(new ToolCommand("zstd",
                ["-q", "-f", "-T0", "-9", plain, "-o", partial]), cancellation)
                .ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                throw new DtvException("VmCompressFailed", result.ExitCode, result.Tail);
            }

            File.Move(partial, OutputPath, overwrite: true);
            return archive with { CompressedBytes = new FileInfo(OutputPath).Length };
        }
        finally
        {
            File.Delete(plain);
            File.Delete(partial);
        }
    }

    /// <summary>The memory a VM needs to boot the archive: both forms of it, and headroom.
    /// The kernel unpacks it into a tmpfs, which holds at most half the memory, so the
    /// root may take no more than that.</summary>
    public static long NeededMegabytes(InitramfsWriter.Result written) =>
        (Math.Max(written.UncompressedBytes + written.CompressedBytes,
            2 * written.UncompressedBytes) + 1048575) / 1048576
        + HeadroomMegabytes;

    private static string Megabytes(long bytes) =>
        (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);
}
