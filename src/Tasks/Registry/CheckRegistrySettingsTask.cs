using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Registry;

/// <summary>
/// Checks the registry settings early in every build of an app, without contacting any
/// registry: ContainerRegistry with the repository, and BaseImageCacheRegistry.
/// </summary>
public sealed class CheckRegistrySettingsTask : AsyncTask
{
    /// <summary>The registry the app image is pushed to (ContainerRegistry); may be empty.</summary>
    public string Registry { get; set; } = string.Empty;

    /// <summary>The app image's repository (ContainerRepository).</summary>
    public string Repository { get; set; } = string.Empty;

    /// <summary>The base cache's location (BaseImageCacheRegistry); may be empty.</summary>
    public string CacheRegistry { get; set; } = string.Empty;

    /// <summary>Registry hosts other than this machine that may be spoken to over HTTP.</summary>
    public string[] InsecureRegistries { get; set; } = [];

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        if (Registry.Length > 0)
        {
            RegistryReference.Create(Registry, Repository, InsecureRegistries);
        }

        if (CacheRegistry.Length > 0)
        {
            RegistryReference.Parse(CacheRegistry, "BaseImageCacheRegistry", InsecureRegistries);
        }

        return System.Threading.Tasks.Task.CompletedTask;
    }
}
