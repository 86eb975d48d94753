using System.Diagnostics;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Finds in the cache, or fetches from the suite's archive, the kernel a VM of the recipe
/// boots, with the few modules it loads; see <see cref="KernelPackage"/>.
/// </summary>
public sealed class PrepareVmKernelTask : AsyncTask
{
    /// <summary>The cache's directory (the same as the base root filesystems').</summary>
    [Required]
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>The archive of the base (BaseImageMirror).</summary>
    [Required]
    public string Mirror { get; set; } = string.Empty;

    /// <summary>The suite of the base (BaseImageSuite).</summary>
    [Required]
    public string Suite { get; set; } = string.Empty;

    /// <summary>The archive components of the base.</summary>
    public string[] Components { get; set; } = ["main"];

    /// <summary>The Debian architecture of the VM.</summary>
    [Required]
    public string Architecture { get; set; } = string.Empty;

    /// <summary>The keyring that signs the archive; empty for Debian's own.</summary>
    public string Keyring { get; set; } = string.Empty;

    /// <summary>Whether the archive is used without checking its signatures.</summary>
    public bool AllowUnsigned { get; set; }

    /// <summary>The kernel image (vmlinuz).</summary>
    [Output]
    public string KernelPath { get; private set; } = string.Empty;

    /// <summary>The kernel's version, as in /usr/lib/modules.</summary>
    [Output]
    public string KernelVersion { get; private set; } = string.Empty;

    /// <summary>A tree holding the kept modules, to lay over the VM's root.</summary>
    [Output]
    public string ModulesRoot { get; private set; } = string.Empty;

    /// <summary>The modules' paths in the VM, in the order they load.</summary>
    [Output]
    public string[] ModuleLoadOrder { get; private set; } = [];

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var keyring = Keyring.Length > 0
            ? Keyring
            : "/usr/share/keyrings/debian-archive-keyring.gpg";
        var source = new KernelPackage.Source(Mirror.TrimEnd('/'), Suite, Components,
            Architecture, keyring, AllowUnsigned);
        var entry = await new KernelPackage(GetRunner())
            .GetAsync(CacheDirectory, source, cancellation).ConfigureAwait(false);

        KernelPath = entry.KernelPath;
        KernelVersion = entry.Version;
        ModulesRoot = entry.RootDirectory;
        ModuleLoadOrder = [.. entry.LoadOrder];
        Log.LogMessageFromResources(MessageImportance.High, "VmKernelReady", entry.Version,
            Architecture, entry.LoadOrder.Count);
        LogStageTime("the VM kernel", clock.Elapsed);
    }
}
