using System.Diagnostics;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Writes a hybrid ISO image that boots with BIOS and UEFI, from a CD drive or written to a
/// disk: GRUB, the kernel, an initramfs, and <see cref="RootDirectory"/> as a squashfs that
/// the machine mounts read-only under a tmpfs overlay, so the root is writable in memory.
/// </summary>
public sealed class WriteIsoImageTask : AsyncTask
{
    /// <summary>
    /// The virtual machine's root filesystem. It must hold the kernel's modules in
    /// /lib/modules/&lt;version&gt;/ (one version) and the init at <see cref="InitPath"/>.
    /// </summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>The kernel (vmlinuz) to boot.</summary>
    [Required]
    public string KernelPath { get; set; } = string.Empty;

    /// <summary>
    /// An initramfs of your own that finds and mounts the root itself (the squashfs is at
    /// /live/root.squashfs on the ISO, whose volume id the build logs). When empty (the
    /// default) the image gets a built-in first stage: it loads the modules for CD drives and
    /// disks (virtio, SCSI, SATA/IDE, NVMe), isofs, loop, squashfs and overlay from the
    /// root's /lib/modules, finds the ISO by its volume id, mounts the squashfs read-only with
    /// a tmpfs above it as /, and executes <see cref="InitPath"/> as PID 1 with /dev, /proc
    /// and /sys not mounted.
    /// </summary>
    public string InitrdPath { get; set; } = string.Empty;

    /// <summary>The kernel command line; "console=ttyS0 quiet" when empty.</summary>
    public string KernelCommandLine { get; set; } = string.Empty;

    /// <summary>The absolute path, in the root filesystem, of the program started as PID 1.</summary>
    public string InitPath { get; set; } = "/init";

    /// <summary>The Debian architecture of the kernel and root; only amd64 is available.</summary>
    public string Architecture { get; set; } = "amd64";

    /// <summary>The ISO image to write.</summary>
    [Required]
    public string OutputPath { get; set; } = string.Empty;

    /// <summary>The ISO image written.</summary>
    [Output]
    public string ImagePath { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var inputs = VmImageInputs.Create(RootDirectory, KernelPath, InitrdPath,
            KernelCommandLine, InitPath, Architecture);
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
