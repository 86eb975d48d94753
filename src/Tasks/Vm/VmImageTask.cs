using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// What the disk and ISO writers share: the root filesystem, the kernel that boots it and
/// the program it starts as PID 1, and the image file that comes out.
/// </summary>
public abstract class VmImageTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>
    /// The virtual machine's root filesystem. It must hold the kernel's modules in
    /// /lib/modules/&lt;version&gt;/ (one version) and the init at <see cref="InitPath"/>.
    /// </summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>The kernel (vmlinuz) to boot.</summary>
    [Required]
    public string KernelPath { get; set; } = string.Empty;

    /// <summary>The kernel command line; "console=ttyS0 quiet" when empty.</summary>
    public string KernelCommandLine { get; set; } = string.Empty;

    /// <summary>The absolute path, in the root filesystem, of the program started as PID 1.</summary>
    public string InitPath { get; set; } = "/init";

    /// <summary>The Debian architecture of the kernel and root; only amd64 is available.</summary>
    public string Architecture { get; set; } = "amd64";

    /// <summary>The image file to write.</summary>
    [Required]
    public string OutputPath { get; set; } = string.Empty;

    /// <summary>The image file written.</summary>
    [Output]
    public string ImagePath { get; set; } = string.Empty;

    /// <summary>The task's inputs, checked, with <paramref name="initrdPath"/> as given.</summary>
    private protected VmImageInputs Inputs(string initrdPath) =>
        VmImageInputs.Create(RootDirectory, KernelPath, initrdPath, KernelCommandLine,
            InitPath, Architecture);
}
