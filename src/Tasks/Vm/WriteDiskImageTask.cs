using System.Diagnostics;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Writes a raw disk image (and optionally a qcow2 copy) that boots with BIOS and UEFI:
/// a GPT with a BIOS boot partition, an EFI system partition holding GRUB, the kernel and
/// the initramfs, and an ext4 root filled from <see cref="VmImageTask.RootDirectory"/>. No loop device
/// and no mount is used on the build machine.
/// </summary>
public sealed class WriteDiskImageTask : VmImageTask
{
    /// <summary>
    /// An initramfs of your own that finds, mounts and switches to the root itself (the ext4
    /// root is labelled "dtvroot", so <c>root=LABEL=dtvroot</c> on the kernel command line
    /// names it to initramfs tools that read it). When
    /// empty (the default) the image gets a built-in first stage: it loads the modules for
    /// virtio, SCSI, SATA/IDE and NVMe disks and ext4 from the root's /lib/modules, mounts
    /// the ext4 root (found by its UUID) read-write on /, and executes <see cref="VmImageTask.InitPath"/>
    /// as PID 1 with /dev, /proc and /sys not mounted.
    /// </summary>
    public string InitrdPath { get; set; } = string.Empty;

    /// <summary>
    /// The disk's size in MiB. 0 (the default) makes it the root's size plus a quarter
    /// (at least 64 MiB) of free space, rounded up to 64 MiB.
    /// </summary>
    public int DiskSizeMegabytes { get; set; }

    /// <summary>A qcow2 copy of the image to write as well (with qemu-img); none when empty.</summary>
    public string QcowOutputPath { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var inputs = Inputs(InitrdPath);
        var output = Path.GetFullPath(OutputPath);
        var qcow = QcowOutputPath.Length > 0 ? Path.GetFullPath(QcowOutputPath) : string.Empty;
        var partial = VmImageFiles.PartialName(output);
        var qcowPartial = qcow.Length > 0 ? VmImageFiles.PartialName(qcow) : string.Empty;
        DiskLayout layout;
        try
        {
            layout = await new DiskImageBuilder(GetRunner()).BuildAsync(inputs,
                DiskSizeMegabytes, partial, qcowPartial, cancellation).ConfigureAwait(false);
            if (qcow.Length > 0)
            {
                VmImageFiles.Complete(qcowPartial, qcow);
            }

            VmImageFiles.Complete(partial, output);
        }
        finally
        {
            VmImageFiles.Discard(partial);
            VmImageFiles.Discard(qcowPartial);
        }

        ImagePath = output;
        Log.LogMessageFromResources(MessageImportance.High, "VmDiskWritten", output,
            layout.TotalMiB, layout.Root.Bytes / DiskLayout.MiB);
        LogStageTime("disk image", clock.Elapsed);
    }
}
