using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Export;
using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Registry;

/// <summary>A base found in the cache registry: its manifest and configuration.</summary>
public sealed record CachedBase(PulledManifest Manifest, byte[] ConfigJson)
{
    /// <summary>The one layer, the base's root filesystem.</summary>
    public BlobDescriptor Layer => Manifest.Manifest.Layers[0];
}

/// <summary>
/// Bases shared through a registry: the root filesystem of a recipe, as one layer of an
/// image tagged with the recipe's digest, labelled with it, for the recipe's platform. A
/// machine that has no entry for a recipe asks the registry first and unpacks the layer into
/// its cache instead of bootstrapping; the machine that bootstrapped pushes it. The files
/// beside a cache entry go with it only in part: the bytes trimming removed, as a label;
/// the package index is not carried (see docs/limitations.md).
/// </summary>
public static class RegistryBaseCache
{
    /// <summary>Label with the bytes trimming removed, for the size report.</summary>
    public const string TrimRemovedLabel = "dev.dockertovms.base.trim-removed";

    private const string TrimRecordFileName = "trim-removed.txt";
    private const string SearchPath =
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private const int BufferSize = 1 << 16;

    /// <summary>The tag of a recipe's base: the recipe digest itself.</summary>
    public static string TagFor(string digest) => digest;

    /// <summary>
    /// The base of the recipe in the registry, or null when it has none.
    /// </summary>
    /// <exception cref="DtvException">DTV3145 when the tag holds something else than a base
    /// of this recipe and architecture; the registry's codes when it cannot answer.</exception>
    public static async Task<CachedBase?> FindAsync(RegistryClient client, string digest,
        string debianArchitecture, CancellationToken cancellation)
    {
        var pulled = await client.GetManifestAsync(TagFor(digest), cancellation)
            .ConfigureAwait(false);
        if (pulled is null)
        {
            return null;
        }

        if (pulled.Manifest.Layers.Count != 1)
        {
            throw Invalid(client, digest, $"it has {pulled.Manifest.Layers.Count} layers, not 1");
        }

        using var config = new MemoryStream();
        await client.DownloadBlobAsync(pulled.Manifest.Config.Digest, config, cancellation)
            .ConfigureAwait(false);
        var json = config.ToArray();
        var (architecture, _) = DebianArchitecture.ToDocker(debianArchitecture);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var recipe = root.TryGetProperty("config", out var settings)
            && settings.TryGetProperty("Labels", out var labels)
            && labels.ValueKind == JsonValueKind.Object
            && labels.TryGetProperty(ImageLabels.Recipe, out var label)
                ? label.GetString()
                : null;
        if (recipe != digest)
        {
            throw Invalid(client, digest, $"its recipe label is '{recipe}'");
        }

        var found = root.TryGetProperty("architecture", out var a) ? a.GetString() : null;
        return found != architecture
            ? throw Invalid(client, digest, $"it is for '{found}', not '{architecture}'")
            : new CachedBase(pulled, json);
    }

    /// <summary>
    /// Downloads the base's layer into the staging directory (its digest checked), unpacks
    /// it into <c>rootfs</c> there, strictly (see <see cref="RootfsUnpacker"/>), and writes
    /// the files a cache entry holds beside it. Returns the layer file, which the caller
    /// deletes once it is no longer needed.
    /// </summary>
    public static async Task<(string LayerFile, UnpackSummary Summary)> UnpackAsync(
        RegistryClient client, CachedBase found, string stagingDirectory,
        CancellationToken cancellation)
    {
        var layerFile = Path.Combine(stagingDirectory, "layer.tar");
        var file = new FileStream(layerFile, FileMode.CreateNew, FileAccess.ReadWrite,
            FileShare.None, BufferSize, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            await client.DownloadBlobAsync(found.Layer.Digest, file, cancellation)
                .ConfigureAwait(false);
        }

        UnpackSummary summary;
        var read = File.OpenRead(layerFile);
        await using (read.ConfigureAwait(false))
        {
            var tar = found.Layer.MediaType.EndsWith("gzip", StringComparison.Ordinal)
                ? new GZipStream(read, CompressionMode.Decompress)
                : (Stream)read;
            summary = new RootfsUnpacker(Path.Combine(stagingDirectory, "rootfs"),
                $"{client.Registry}@{found.Manifest.Digest}")
                .Unpack(tar, cancellation);
        }

        using var config = JsonDocument.Parse(found.ConfigJson);
        if (config.RootElement.GetProperty("config").GetProperty("Labels")
            .TryGetProperty(TrimRemovedLabel, out var removed) && removed.GetString() is { } bytes)
        {
            await File.WriteAllTextAsync(Path.Combine(stagingDirectory, TrimRecordFileName),
                bytes, cancellation).ConfigureAwait(false);
        }

        return (layerFile, summary);
    }

    /// <summary>
    /// Packs the cache entry's root filesystem as a layer and pushes it with its
    /// configuration under the recipe's digest. With a layer cache, the layer is the one
    /// kept there (see <see cref="KeptLayers"/>): taken when it is clean, else written there,
    /// so an image archive of the same base later in the build need not write it again.
    /// Without one, it is written into the work directory.
    /// </summary>
    public static async Task<PushResult> PushAsync(RegistryClient client, string digest,
        string entryDirectory, string debianArchitecture, string workDirectory,
        Action<string, bool> progress, CancellationToken cancellation,
        string layerCacheDirectory = "")
    {
        var root = Path.Combine(entryDirectory, "rootfs");
        var layer = layerCacheDirectory.Length > 0
            ? await KeptLayers.GetOrWriteAsync(layerCacheDirectory, digest, root,
                LayerTarWriter.EpochFromEnvironment(), cancellation).ConfigureAwait(false)
            : await LayerWriter.WriteFileAsync(root, Path.Combine(workDirectory, "layer.tar"),
                cancellation).ConfigureAwait(false);
        var config = CreateConfig(digest, debianArchitecture, layer.DiffId,
            ReadTrimRecord(entryDirectory));
        var image = new PushImage(
            [new PushLayer(layer.Path, layer.DiffId, layer.DiffId, ImageArchive.LayerMediaType,
                layer.Size)],
            config.ToJson());
        return await RegistryPush.PushAsync(client, image, [TagFor(digest)], ManifestFormat.Oci,
            string.Empty, progress, cancellation).ConfigureAwait(false);
    }

    /// <summary>The configuration of a recipe's base, as a base imported into Docker has it.</summary>
    public static ImageConfig CreateConfig(string digest, string debianArchitecture,
        string diffId, string? trimRemoved)
    {
        var (architecture, variant) = DebianArchitecture.ToDocker(debianArchitecture);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ImageLabels.Recipe] = digest,
        };
        if (trimRemoved is not null)
        {
            labels[TrimRemovedLabel] = trimRemoved;
        }

        return new ImageConfig
        {
            Architecture = architecture,
            Variant = variant,
            Created = CreationTime(),
            Environment = [SearchPath],
            Labels = labels,
            DiffIds = [diffId],
            History = [new ImageHistoryStep($"DockerToVms: base root filesystem of recipe {digest}")],
        };
    }

    /// <summary>
    /// Writes an archive <c>docker load</c> reads, of a configuration's exact bytes and one
    /// layer, so the loaded image has the pushing machine's image id.
    /// </summary>
    public static void WriteLoadArchive(Stream output, byte[] configJson, string layerFile,
        string layerDigest, string reference)
    {
        var configName = OciDigest.Hex(OciDigest.Of(configJson)) + ".json";
        var layerName = OciDigest.Hex(layerDigest) + "/layer.tar";
        using var manifest = new MemoryStream();
        using (var json = new Utf8JsonWriter(manifest))
        {
            json.WriteStartArray();
            json.WriteStartObject();
            json.WriteString("Config", configName);
            json.WriteStartArray("RepoTags");
            json.WriteStringValue(reference);
            json.WriteEndArray();
            json.WriteStartArray("Layers");
            json.WriteStringValue(layerName);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
        }

        using var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true);
        writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, configName)
        {
            DataStream = new MemoryStream(configJson, writable: false),
        });
        using (var layer = File.OpenRead(layerFile))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, layerName)
            {
                DataStream = layer,
            });
        }

        manifest.Position = 0;
        writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "manifest.json")
        {
            DataStream = manifest,
        });
    }

    private static string? ReadTrimRecord(string entryDirectory)
    {
        var path = Path.Combine(entryDirectory, TrimRecordFileName);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    private static DtvException Invalid(RegistryClient client, string digest, string why) =>
        new("BaseCacheImageInvalid", $"{client.Registry}:{TagFor(digest)}", digest, why);

    // SOURCE_DATE_EPOCH, when set, dates the image, as the import does.
    private static DateTimeOffset CreationTime()
    {
        var epoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        return long.TryParse(epoch, NumberStyles.None, CultureInfo.InvariantCulture,
            out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }
}
