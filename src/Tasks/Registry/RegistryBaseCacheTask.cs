using System.Diagnostics;
using System.Globalization;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Registry;

/// <summary>
/// The base cache in a registry (BaseImageCacheRegistry). <c>Pull</c>, before a bootstrap:
/// asks the registry for the base tagged with the recipe's digest and, when it is there,
/// unpacks its layer into the local cache as a complete entry (under the recipe's lock, from
/// a staging directory, as a bootstrap would), and loads the image into Docker when the
/// pipeline imports the full base. <c>Push</c>, after a bootstrap: pushes the entry. The
/// registry only ever saves work: when it cannot answer, or a push fails, the build warns and
/// goes on without it.
/// </summary>
public sealed class RegistryBaseCacheTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    // DaemonUnreachable: no daemon answered.
    private const string NoDaemonCode = "DTV3001";

    /// <summary><c>Pull</c> or <c>Push</c>.</summary>
    [Required]
    public string Action { get; set; } = string.Empty;

    /// <summary>The cache's location, <c>host[:port]/repository</c>.</summary>
    [Required]
    public string CacheRegistry { get; set; } = string.Empty;

    /// <summary>The recipe digest.</summary>
    [Required]
    public string Digest { get; set; } = string.Empty;

    /// <summary>The local root filesystem cache's directory.</summary>
    [Required]
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>The Debian architecture of the base, such as <c>amd64</c>.</summary>
    [Required]
    public string Architecture { get; set; } = string.Empty;

    /// <summary>The recipe, written into an entry that <c>Pull</c> fills.</summary>
    public string RecipeFile { get; set; } = string.Empty;

    /// <summary>
    /// With <c>Pull</c>: the <c>repository:tag</c> to load the pulled base into Docker
    /// under; empty when the pipeline derives its own base (trim level <c>app</c>).
    /// </summary>
    public string LoadAs { get; set; } = string.Empty;

    /// <summary>Registry hosts other than this machine that may be spoken to over HTTP.</summary>
    public string[] InsecureRegistries { get; set; } = [];

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <summary>
    /// With <c>Push</c>: where base layers are kept between builds (the archive step's layer
    /// cache), so the layer pushed is kept for the archive written later in the build, or
    /// one kept already is pushed; empty to write the layer for the push alone.
    /// </summary>
    public string LayerCacheDirectory { get; set; } = string.Empty;

    /// <summary>With <c>Pull</c>: whether the local cache now has the entry.</summary>
    [Output]
    public bool Found { get; private set; }

    /// <summary>Credential sources; tests replace them.</summary>
    internal RegistryCredentials Credentials { get; set; } = new();

    /// <summary>The network; tests replace it.</summary>
    internal HttpMessageHandler? Handler { get; set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        // A wrong setting is the user's to fix, not a registry failure to step around.
        var registry = RegistryReference.Parse(CacheRegistry, "BaseImageCacheRegistry",
            InsecureRegistries);
        RegistryReference.CheckTag(RegistryBaseCache.TagFor(Digest), registry);
        var cache = new RootfsCache(CacheDirectory);
        switch (Action)
        {
            case "Pull":
                await PullAsync(registry, cache, cancellation).ConfigureAwait(false);
                break;
            case "Push":
                await PushAsync(registry, cache, cancellation).ConfigureAwait(false);
                break;
            default:
                throw new InvalidOperationException($"Unknown action '{Action}'; use Pull or Push.");
        }
    }

    private async System.Threading.Tasks.Task PullAsync(RegistryReference registry,
        RootfsCache cache, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        using var held = await cache.LockAsync(Digest, owner => Log.LogMessageFromResources(
            MessageImportance.High, "CacheWaiting", Digest[..12], owner,
            cache.LockFileFor(Digest)), cancellation).ConfigureAwait(false);
        if (cache.Has(Digest))
        {
            Found = true;
            Log.LogMessageFromResources(MessageImportance.High, "CacheFilledMeanwhile",
                Digest[..12]);
            return;
        }

        string? staging = null;
        try
        {
            var credential = await Credentials.FindAsync(registry.Host, cancellation)
                .ConfigureAwait(false);
            using var client = new RegistryClient(registry, credential, Handler);
            var found = await RegistryBaseCache.FindAsync(client, Digest, Architecture,
                cancellation).ConfigureAwait(false);
            if (found is null)
            {
                Log.LogMessageFromResources(MessageImportance.High, "BaseCacheMiss", registry,
                    Digest[..12]);
                return;
            }

            staging = cache.BeginStaging(Digest);
            var (layerFile, summary) = await RegistryBaseCache.UnpackAsync(client, found,
                staging, cancellation).ConfigureAwait(false);
            if (summary.DroppedAttributes > 0)
            {
                Log.LogWarningWithCodeFromResources("SourceAttributesDropped",
                    summary.DroppedAttributes, registry, summary.FirstDroppedAttribute);
            }

            if (LoadAs.Length > 0)
            {
                try
                {
                    await LoadAsync(found, layerFile, cancellation).ConfigureAwait(false);
                }
                catch (DtvException e) when (e.Code == NoDaemonCode)
                {
                    // Without a daemon the image goes to an archive, whose base layer comes
                    // from the cache entry: the base is of use without the load.
                    Log.LogMessage(MessageImportance.Low, e.Message);
                }
            }

            File.Delete(layerFile);
            cache.Commit(staging, Digest, File.ReadAllText(RecipeFile));
            staging = null;
            Found = true;
            Log.LogMessageFromResources(MessageImportance.High, "BaseCacheHit", registry,
                Digest[..12], summary.Entries, (found.Layer.Size / 1e6).ToString("0.0",
                    CultureInfo.InvariantCulture));
            LogStageTime("base from the cache registry", clock.Elapsed);
        }
        catch (Exception e) when (!cancellation.IsCancellationRequested && IsRegistryFailure(e))
        {
            Log.LogWarningWithCodeFromResources("BaseCacheLookupFailed", registry, Digest[..12],
                e.Message);
        }
        finally
        {
            if (staging is not null)
            {
                RootfsCache.Discard(staging);
            }
        }
    }

    // The loaded image carries the recipe label, so the import that follows reuses it.
    private async System.Threading.Tasks.Task LoadAsync(CachedBase found, string layerFile,
        CancellationToken cancellation)
    {
        using var docker = await DockerConnection.OpenAsync(DockerHost, cancellation)
            .ConfigureAwait(false);
        var archive = new FileStream(layerFile + ".image", FileMode.CreateNew,
            FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        await using (archive.ConfigureAwait(false))
        {
            RegistryBaseCache.WriteLoadArchive(archive, found.ConfigJson, layerFile,
                found.Layer.Digest, LoadAs);
            archive.Position = 0;
            await ImageLoad.LoadAsync(docker, archive, CacheRegistry, LoadAs, cancellation)
                .ConfigureAwait(false);
        }
    }

    private async System.Threading.Tasks.Task PushAsync(RegistryReference registry,
        RootfsCache cache, CancellationToken cancellation)
    {
        if (!cache.Has(Digest))
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        var work = Directory.CreateTempSubdirectory("dtv-base-push-").FullName;
        try
        {
            var credential = await Credentials.FindAsync(registry.Host, cancellation)
                .ConfigureAwait(false);
            using var client = new RegistryClient(registry, credential, Handler);
            var result = await RegistryBaseCache.PushAsync(client, Digest,
                cache.EntryFor(Digest), Architecture, work,
                (digest, present) => Log.LogMessageFromResources(MessageImportance.Normal,
                    present ? "RegistryBlobPresent" : "RegistryBlobUploaded", digest, registry),
                cancellation, LayerCacheDirectory).ConfigureAwait(false);
            Log.LogMessageFromResources(MessageImportance.High, "BaseCachePushed", registry,
                Digest[..12], result.ManifestDigest, (result.BytesUploaded / 1e6).ToString(
                    "0.0", CultureInfo.InvariantCulture));
            LogStageTime("base to the cache registry", clock.Elapsed);
        }
        catch (Exception e) when (!cancellation.IsCancellationRequested && IsRegistryFailure(e))
        {
            Log.LogWarningWithCodeFromResources("BaseCachePushFailed", registry, Digest[..12],
                e.Message);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static bool IsRegistryFailure(Exception e) =>
        e is DtvException or IOException or HttpRequestException or InvalidDataException
            or System.Text.Json.JsonException or UnauthorizedAccessException
            or InvalidOperationException or FormatException or KeyNotFoundException;
}
