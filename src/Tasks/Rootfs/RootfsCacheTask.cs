using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// Moves root filesystems through the cache: <c>Begin</c> names a fresh staging directory
/// (removing those of builds that died), <c>Commit</c> renames a finished one into place, and
/// <c>Discard</c> removes a failed one.
/// </summary>
public sealed class RootfsCacheTask : AsyncTask
{
    /// <summary>What to do: <c>Begin</c>, <c>Commit</c> or <c>Discard</c>.</summary>
    [Required]
    public string Action { get; set; } = string.Empty;

    /// <summary>The cache's directory.</summary>
    [Required]
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>The recipe digest the entry belongs to.</summary>
    [Required]
    public string Digest { get; set; } = string.Empty;

    /// <summary>The staging directory, for <c>Commit</c> and <c>Discard</c>.</summary>
    [Output]
    public string StagingDirectory { get; set; } = string.Empty;

    /// <summary>The recipe as written into a committed entry.</summary>
    public string RecipeFile { get; set; } = string.Empty;

    /// <summary>The entry's directory after <c>Commit</c>.</summary>
    [Output]
    public string EntryDirectory { get; private set; } = string.Empty;

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        var cache = new RootfsCache(CacheDirectory);
        switch (Action)
        {
            case "Begin":
                StagingDirectory = cache.BeginStaging(Digest);
                break;
            case "Commit":
                EntryDirectory = cache.Commit(StagingDirectory, Digest,
                    File.ReadAllText(RecipeFile));
                break;
            case "Discard":
                RootfsCache.Discard(StagingDirectory);
                break;
            default:
                throw new InvalidOperationException(
                    $"Unknown action '{Action}'; use Begin, Commit or Discard.");
        }

        return System.Threading.Tasks.Task.CompletedTask;
    }
}
