using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>Compiles (or finds in the cache) the VM's tiny init for an architecture.</summary>
public sealed class CompileVmInitTask : AsyncTask
{
    /// <summary>The cache's directory.</summary>
    [Required]
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>The Debian architecture of the VM.</summary>
    [Required]
    public string Architecture { get; set; } = string.Empty;

    /// <summary>The compiled, statically linked init.</summary>
    [Output]
    public string InitPath { get; private set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation) =>
        InitPath = await new InitCompiler(GetRunner())
            .CompileAsync(CacheDirectory, Architecture, cancellation).ConfigureAwait(false);
}
