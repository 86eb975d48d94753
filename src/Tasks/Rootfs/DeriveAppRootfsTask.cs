using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// Derives the root filesystem of an <c>app</c>-level (distroless) base after publish: works
/// out which files of the cached full root filesystem the published app needs and copies only
/// those into a root filesystem of their own. That one is cached too, by a digest of the full
/// root filesystem's recipe and the set of files, so a publish that needs the same files
/// again copies nothing.
/// </summary>
public sealed class DeriveAppRootfsTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>The folder of the cache, under which app-level entries live.</summary>
    public const string CacheFolder = "app";

    /// <summary>The cache's directory (the same as for the full root filesystems).</summary>
    [Required]
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>The recipe digest of the full root filesystem.</summary>
    [Required]
    public string BaseDigest { get; set; } = string.Empty;

    /// <summary>The full root filesystem, in the cache entry of <see cref="BaseDigest"/>.</summary>
    [Required]
    public string BaseRootDirectory { get; set; } = string.Empty;

    /// <summary>The folder the app was published to.</summary>
    [Required]
    public string PublishDirectory { get; set; } = string.Empty;

    /// <summary>Whether the app runs without culture data, so ICU is left out.</summary>
    public bool InvariantGlobalization { get; set; }

    /// <summary>Whether the time zone database is kept. Defaults to true.</summary>
    public bool IncludeTimeZoneData { get; set; } = true;

    /// <summary>The user the app runs as (ContainerUser); its account is kept.</summary>
    public string User { get; set; } = string.Empty;

    /// <summary>Packages kept whole, with what they link to (BaseImagePackage items).</summary>
    public ITaskItem[] Packages { get; set; } = [];

    /// <summary>Absolute paths in the image kept in addition (BaseImageKeepFile items).</summary>
    public ITaskItem[] KeepFiles { get; set; } = [];

    /// <summary>The derived root filesystem's directory.</summary>
    [Output]
    public string RootDirectory { get; private set; } = string.Empty;

    /// <summary>The derived root filesystem's digest, lower-case hex SHA-256.</summary>
    [Output]
    public string Digest { get; private set; } = string.Empty;

    /// <summary>Whether this build made the derived root filesystem (false when cached).</summary>
    [Output]
    public bool Built { get; private set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        if (!File.Exists(Path.Combine(BaseRootDirectory, "bin/sh"))
            && !File.Exists(Path.Combine(BaseRootDirectory, "usr/bin/sh")))
        {
            throw new DtvException("RootfsMissing", BaseRootDirectory);
        }

        var clock = Stopwatch.StartNew();
        var user = User.Split(':')[0];
        var plan = AppRootfsPlan.Create(new AppRootfsRequest
        {
            Root = BaseRootDirectory,
            PublishDirectory = PublishDirectory,
            Globalization = !InvariantGlobalization,
            TimeZones = IncludeTimeZoneData,
            User = user == "root" || user.All(char.IsAsciiDigit) ? string.Empty : user,
            Packages = [.. Packages.Select(p => p.ItemSpec)],
            KeepFiles = [.. KeepFiles.Select(f => f.ItemSpec)],
            Index = PackageIndex.Load(Path.Combine(
                Path.GetDirectoryName(Path.GetFullPath(BaseRootDirectory))!, PackageIndex.FileName)),
        });
        if (plan.OpenSslMissing)
        {
            Log.LogWarningWithCodeFromResources("OpenSslMissing");
        }

        Digest = plan.ComputeDigest(BaseDigest);
        var cache = new RootfsCache(Path.Combine(CacheDirectory, CacheFolder));
        RootDirectory = Path.Combine(cache.EntryFor(Digest), RootfsCache.RootfsFolderName);
        if (cache.Has(Digest))
        {
            Log.LogMessageFromResources(MessageImportance.Normal, "AppRootfsCached", Digest[..12],
                plan.Paths.Count, plan.Packages.Count);
            return;
        }

        using (await cache.LockAsync(Digest, _ => { }, cancellation).ConfigureAwait(false))
        {
            if (cache.Has(Digest))
            {
                return;
            }

            var staging = cache.BeginStaging(Digest);
            try
            {
                await AppRootfsBuilder.BuildAsync(plan, BaseRootDirectory,
                    Path.Combine(staging, RootfsCache.RootfsFolderName), GetRunner(),
                    cancellation).ConfigureAwait(false);
                cache.Commit(staging, Digest, Record(plan));
            }
            catch
            {
                RootfsCache.Discard(staging);
                throw;
            }
        }

        Built = true;
        Log.LogMessageFromResources(MessageImportance.High, "AppRootfsBuilt", Digest[..12],
            plan.Paths.Count, plan.Packages.Count, string.Join(", ", plan.Packages));
        LogStageTime("app-level base", clock.Elapsed);
    }

    // What the entry was made from, for whoever inspects the cache.
    private string Record(AppRootfsPlan plan) => JsonSerializer.Serialize(
        new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["format"] = AppRootfsPlan.FormatVersion,
            ["base"] = BaseDigest,
            ["created"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["packages"] = plan.Packages,
            ["paths"] = plan.Paths,
        });
}
