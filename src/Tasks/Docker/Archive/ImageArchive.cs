using System.Formats.Tar;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>
/// An image as one tar archive that <c>docker load</c> reads: the layout <c>docker save</c>
/// writes (a <c>manifest.json</c> naming the configuration, tags and layers), which is also an
/// OCI image layout (<c>oci-layout</c>, <c>index.json</c> and an image manifest), every part
/// stored once under <c>blobs/sha256/</c> by its digest. Unlike the engine's import endpoint,
/// this carries the image's architecture and variant. Entries are in name order, owned by
/// root without names, and dated at the image's creation, so equal images give equal bytes.
/// </summary>
public sealed class ImageArchive
{
    /// <summary>The media type of an OCI image manifest.</summary>
    public const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";

    /// <summary>The media type of an OCI image configuration.</summary>
    public const string ConfigMediaType = "application/vnd.oci.image.config.v1+json";

    /// <summary>The media type of an uncompressed layer.</summary>
    public const string LayerMediaType = "application/vnd.oci.image.layer.v1.tar";

    /// <summary>The media type of an OCI image index.</summary>
    public const string IndexMediaType = "application/vnd.oci.image.index.v1+json";

    private const string BlobDirectory = "blobs/sha256/";

    // Keys of docker save's manifest.json, capitalised as Docker has always written them.
    private const string DockerConfigKey = "Config";
    private const string DockerLayersKey = "Layers";

    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite
        | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode DirectoryMode = FileMode | UnixFileMode.UserExecute
        | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private static readonly JsonWriterOptions s_json =
        new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ImageConfig _config;
    private readonly IReadOnlyList<LayerFile> _layers;
    private readonly IReadOnlyList<string> _references;
    private readonly byte[] _configJson;
    private readonly byte[] _manifestJson;

    /// <summary>Describes the archive of an image.</summary>
    /// <param name="config">The configuration; its diff_ids must be the layers' own.</param>
    /// <param name="layers">The uncompressed layers, bottom first.</param>
    /// <param name="references">The <c>repository:tag</c> names the image is loaded under.</param>
    public ImageArchive(ImageConfig config, IReadOnlyList<LayerFile> layers,
        IReadOnlyList<string> references)
    {
        if (!config.DiffIds.SequenceEqual(layers.Select(l => l.DiffId), StringComparer.Ordinal))
        {
            throw new ArgumentException("The configuration's diff_ids are not the layers'.",
                nameof(config));
        }

        _config = config;
        _layers = layers;
        _references = references;
        _configJson = config.ToJson();
        _manifestJson = Json(WriteManifest);
    }

    /// <summary>The image's id: the digest of its configuration, as Docker computes it.</summary>
    public string ImageId => OciDigest.Of(_configJson);

    /// <summary>The digest of the OCI image manifest.</summary>
    public string ManifestDigest => OciDigest.Of(_manifestJson);

    /// <summary>The configuration's JSON, as stored in the archive.</summary>
    public ReadOnlyMemory<byte> ConfigJson => _configJson;

    /// <summary>The configuration the JSON was written from.</summary>
    public ImageConfig Config => _config;

    /// <summary>The uncompressed layers, bottom first, with their digests and sizes.</summary>
    public IReadOnlyList<LayerFile> Layers => _layers;

    /// <summary>The <c>repository:tag</c> names the image is loaded under.</summary>
    public IReadOnlyList<string> References => _references;

    /// <summary>
    /// The OCI image manifest's JSON, as stored in the archive: the configuration and each
    /// layer by media type, digest and size. A registry takes it as it is.
    /// </summary>
    public ReadOnlyMemory<byte> ManifestJson => _manifestJson;

    /// <summary>Writes the archive to the stream.</summary>
    public void WriteTo(Stream output)
    {
        var entries = new SortedDictionary<string, Func<Stream>?>(StringComparer.Ordinal)
        {
            ["blobs/"] = null,
            [BlobDirectory] = null,
            [BlobPath(ImageId)] = () => new MemoryStream(_configJson, writable: false),
            [BlobPath(ManifestDigest)] = () => new MemoryStream(_manifestJson, writable: false),
            ["index.json"] = () => new MemoryStream(Json(WriteIndex), writable: false),
            ["manifest.json"] = () => new MemoryStream(Json(WriteDockerManifest), writable: false),
            ["oci-layout"] = () => new MemoryStream(Json(WriteLayoutVersion), writable: false),
        };
        foreach (var layer in _layers)
        {
            entries[BlobPath(layer.DiffId)] = () => File.OpenRead(layer.Path);
        }

        using var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true);
        foreach (var (name, open) in entries)
        {
            var entry = new UstarTarEntry(
                open is null ? TarEntryType.Directory : TarEntryType.RegularFile, name)
            {
                Mode = open is null ? DirectoryMode : FileMode,
                ModificationTime = _config.Created,
                Uid = 0,
                Gid = 0,
            };
            using var content = open?.Invoke();
            if (content is not null)
            {
                entry.DataStream = content;
            }

            writer.WriteEntry(entry);
        }
    }

    /// <summary>The path of a blob in the archive: <c>blobs/sha256/HEX</c>.</summary>
    public static string BlobPath(string digest) => BlobDirectory + OciDigest.Hex(digest);

    /// <summary>
    /// The full name of a reference as containerd writes it into an index: a name without a
    /// registry is on Docker Hub, and a single-part one in its <c>library</c> namespace.
    /// </summary>
    public static string FullName(string reference)
    {
        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? string.Empty : reference[..slash];
        var hasRegistry = first.Contains('.', StringComparison.Ordinal)
            || first.Contains(':', StringComparison.Ordinal) || first == "localhost";
        return hasRegistry ? reference
            : slash < 0 ? "docker.io/library/" + reference
            : "docker.io/" + reference;
    }

    // manifest.json: what docker load reads, on every engine version.
    private void WriteDockerManifest(Utf8JsonWriter json)
    {
        json.WriteStartArray();
        json.WriteStartObject();
        json.WriteString(DockerConfigKey, BlobPath(ImageId));
        json.WriteStartArray("RepoTags");
        foreach (var reference in _references)
        {
            json.WriteStringValue(reference);
        }

        json.WriteEndArray();
        json.WriteStartArray(DockerLayersKey);
        foreach (var layer in _layers)
        {
            json.WriteStringValue(BlobPath(layer.DiffId));
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndArray();
    }

    private void WriteManifest(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteNumber("schemaVersion", 2);
        json.WriteString("mediaType", ManifestMediaType);
        json.WriteStartObject("config");
        WriteDescriptor(json, ConfigMediaType, ImageId, _configJson.Length);
        json.WriteEndObject();
        json.WriteStartArray("layers");
        foreach (var layer in _layers)
        {
            json.WriteStartObject();
            WriteDescriptor(json, LayerMediaType, layer.DiffId, layer.Size);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    // One manifest entry a tag, each naming its image as containerd and newer engines do.
    private void WriteIndex(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteNumber("schemaVersion", 2);
        json.WriteString("mediaType", IndexMediaType);
        json.WriteStartArray("manifests");
        var references = _references.Count > 0 ? _references.Cast<string?>() : [null];
        foreach (var reference in references)
        {
            json.WriteStartObject();
            WriteDescriptor(json, ManifestMediaType, ManifestDigest, _manifestJson.Length);
            if (reference is not null)
            {
                json.WriteStartObject("annotations");
                json.WriteString("io.containerd.image.name", FullName(reference));
                json.WriteString("org.opencontainers.image.ref.name",
                    reference[(reference.LastIndexOf(':') + 1)..]);
                json.WriteEndObject();
            }

            json.WriteStartObject("platform");
            json.WriteString("architecture", _config.Architecture);
            json.WriteString("os", _config.OperatingSystem);
            if (!string.IsNullOrEmpty(_config.Variant))
            {
                json.WriteString("variant", _config.Variant);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteLayoutVersion(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("imageLayoutVersion", "1.0.0");
        json.WriteEndObject();
    }

    private static void WriteDescriptor(Utf8JsonWriter json, string mediaType, string digest,
        long size)
    {
        json.WriteString("mediaType", mediaType);
        json.WriteString("digest", digest);
        json.WriteNumber("size", size);
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, s_json))
        {
            write(json);
        }

        return buffer.ToArray();
    }
}
