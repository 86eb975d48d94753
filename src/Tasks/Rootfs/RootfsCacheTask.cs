using System.Collections.Concurrent;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// Moves root filesystems through the cache: <c>Begin</c> takes the recipe's lock (waiting
/// for another build of the same recipe) and names a fresh staging directory, or reports that
/// the other build has meanwhile finished the entry; <c>Commit</c> renames a finished staging
/// directory into place and <c>Discard</c> removes a failed one, both releasing the lock.
/// </summary>
public sealed class RootfsCacheTask : AsyncTask
{
    // The locks held between Begin and Commit or Discard, by staging directory. MSBuild runs
    // the three in one process, one target; the build engine also holds each until the build
    // ends, so a build that was cancelled before Discard still removes its staging.
    private static readonly ConcurrentDictionary<string, StagingLease> s_leases =
        new(StringComparer.Ordinal);

    /// <summary>What to do: <c>Begin</c>, <c>Commit</c> or <c>Discard</c>.</summary>
    [Required]
    public string Action { get; set; } = string.Empty;

    /// <summary>The cache's directory.</summary>
    [Required]
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>The recipe digest the entry belongs to.</summary>
    [Required]
    public string Digest { get; set; } = string.Empty;

    /// <summary>
    /// The staging directory: set by <c>Begin</c> (empty when the entry was found complete
    /// after waiting), given to <c>Commit</c> and <c>Discard</c>.
    /// </summary>
    [Output]
    public string StagingDirectory { get; set; } = string.Empty;

    /// <summary>The recipe as written into a committed entry.</summary>
    public string RecipeFile { get; set; } = string.Empty;

    /// <summary>
    /// The free space, in megabytes, that <c>Begin</c> asks of the cache's file system before
    /// a bootstrap; 0 skips the check.
    /// </summary>
    public long MinimumFreeSpace { get; set; }

    /// <summary>The entry's directory after <c>Commit</c>.</summary>
    [Output]
    public string EntryDirectory { get; private set; } = string.Empty;

    /// <summary>Whether <c>Begin</c> found the entry complete, built by another build.</summary>
    [Output]
    public bool Found { get; private set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var cache = new RootfsCache(CacheDirectory);
        switch (Action)
        {
            case "Begin":
                await BeginAsync(cache, cancellation).ConfigureAwait(false);
                break;
            case "Commit":
                using (Release())
                {
                    EntryDirectory = cache.Commit(StagingDirectory, Digest,
                        File.ReadAllText(RecipeFile));
                }

                break;
            case "Discard":
                using (Release())
                {
                    RootfsCache.Discard(StagingDirectory);
                }

                break;
            default:
                throw new InvalidOperationException(
                    $"Unknown action '{Action}'; use Begin, Commit or Discard.");
        }
    }

    private async System.Threading.Tasks.Task BeginAsync(RootfsCache cache,
        CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var waited = false;
        var held = await cache.LockAsync(Digest, owner =>
        {
            waited = true;
            Log.LogMessageFromResources(MessageImportance.High, "CacheWaiting", Digest[..12],
                owner, cache.LockFileFor(Digest));
        }, cancellation).ConfigureAwait(false);

        try
        {
            if (waited)
            {
                LogStageTime("waiting for the cache entry", clock.Elapsed);
            }

            if (cache.Has(Digest))
            {
                Found = true;
                Log.LogMessageFromResources(MessageImportance.High, "CacheFilledMeanwhile",
                    Digest[..12]);
                held.Dispose();
                return;
            }

            cache.EnsureFreeSpace(MinimumFreeSpace);
            StagingDirectory = cache.BeginStaging(Digest);
        }
        catch
        {
            held.Dispose();
            throw;
        }

        var lease = new StagingLease(held, StagingDirectory);
        s_leases[StagingDirectory] = lease;
        (BuildEngine as IBuildEngine4)?.RegisterTaskObject(LeaseKey(StagingDirectory), lease,
            RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
    }

    // The lease is released after the action, so no other build starts on the digest before
    // the entry is in place or the staging is gone.
    private StagingLease? Release()
    {
        (BuildEngine as IBuildEngine4)?.UnregisterTaskObject(LeaseKey(StagingDirectory),
            RegisteredTaskObjectLifetime.Build);
        return s_leases.TryRemove(StagingDirectory, out var lease) ? lease : null;
    }

    private static string LeaseKey(string staging) => "DockerToVms.Staging:" + staging;

    /// <summary>
    /// The lock of a staging directory. Disposed by Commit or Discard, or by MSBuild when the
    /// build ends without either (cancelled), in which case the staging is removed first.
    /// </summary>
    private sealed class StagingLease(CacheLock held, string staging) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            try
            {
                s_leases.TryRemove(staging, out _);
                RootfsCache.Discard(staging);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException
                or DtvException)
            {
                // Left for the next build, which removes staging whose lock is free.
            }
            finally
            {
                held.Dispose();
            }
        }
    }
}
