using System.Diagnostics;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Writes a hybrid ISO image that boots with BIOS and UEFI, from a CD drive or written to a
/// disk: GRUB, the kernel, an initramfs, and <see cref="VmImageTask.RootDirectory"/> as a squashfs that
/// the machine mounts read-only under a tmpfs overlay, so the root is writable in memory.
/// </summary>
public sealed class WriteIsoImageTask : VmImageTask
{
    /// <summary>
    /// An initramfs of your own that finds and mounts the root itself (the squashfs is at
    /// /live/root.squashfs on the ISO, whose volume id the build logs). When empty (the
    /// default) the image gets a built-in first stage: it loads the modules for CD drives and
    /// disks (virtio, SCSI, SATA/IDE, NVMe), isofs, loop, squashfs and overlay from the
    /// root's /lib/modules, finds the ISO by its volume id, mounts the squashfs read-only with
    /// a tmpfs above it as /, and executes <see cref="VmImageTask.InitPath"/> as PID 1 with /dev, /proc
    /// and /sys not mounted.
    /// </summary>
    public string InitrdPath { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var inputs = Inputs(InitrdPath);
        var output = Path.GetFullPath(OutputPath);
        var partial = VmImageFiles.PartialName(output);
        string label;
        try
        {
            label = await new IsoImageBuilder(GetRunner()).BuildAsync(inputs, partial,
                cancellation).ConfigureAwait(false);
            VmImageFiles.Complete(partial, output);
        }
        finally
        {
            VmImageFiles.Discard(partial);
        }

        ImagePath = output;
        Log.LogMessageFromResources(MessageImportance.High, "VmIsoWritten", output, label,
            new FileInfo(output).Length / DiskLayout.MiB);
        LogStageTime("ISO image", clock.Elapsed);
    }
}
