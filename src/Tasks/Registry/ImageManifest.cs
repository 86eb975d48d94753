using System.Text.Encodings.Web;
using System.Text.Json;
using DockerToVms.Tasks.Docker.Archive;

namespace DockerToVms.Tasks.Registry;

/// <summary>A content descriptor of a manifest: what a blob is, its digest and size.</summary>
public sealed record BlobDescriptor(string MediaType, string Digest, long Size);

/// <summary>The two manifest formats registries take for a single-platform image.</summary>
public enum ManifestFormat
{
    /// <summary>An OCI image manifest (the default).</summary>
    Oci,

    /// <summary>A Docker image manifest, version 2, schema 2.</summary>
    Docker,
}

/// <summary>
/// An image manifest: the configuration and the layers by digest. Written with a fixed key
/// order and no white space, so the same image gives the same manifest digest; read in
/// either format, whatever the registry returns.
/// </summary>
public sealed record ImageManifest(string MediaType, BlobDescriptor Config,
    IReadOnlyList<BlobDescriptor> Layers)
{
    /// <summary>The media type of a Docker image manifest, version 2, schema 2.</summary>
    public const string DockerMediaType = "application/vnd.docker.distribution.manifest.v2+json";

    /// <summary>The media type of a Docker image configuration.</summary>
    public const string DockerConfigMediaType = "application/vnd.docker.container.image.v1+json";

    /// <summary>The Docker media type of an uncompressed layer.</summary>
    public const string DockerLayerMediaType = "application/vnd.docker.image.rootfs.diff.tar";

    /// <summary>The manifest types a pull accepts, for the Accept header.</summary>
    public static IReadOnlyList<string> Accepted { get; } =
        [ImageArchive.ManifestMediaType, DockerMediaType];

    // As the image archive writes its manifest ('+' in the media types left as it is), so an
    // image pushed from its archive's files has the archive's manifest digest.
    private static readonly JsonWriterOptions s_json =
        new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The manifest of an image to push, in the given format.</summary>
    public static ImageManifest For(PushImage image, ManifestFormat format)
    {
        var docker = format == ManifestFormat.Docker;
        var config = new BlobDescriptor(
            docker ? DockerConfigMediaType : ImageArchive.ConfigMediaType,
            OciDigest.Of(image.ConfigJson.Span), image.ConfigJson.Length);
        var layers = image.Layers.Select(l => new BlobDescriptor(
            docker && l.MediaType == ImageArchive.LayerMediaType ? DockerLayerMediaType
                : l.MediaType, l.Digest, l.Size)).ToList();
        return new ImageManifest(docker ? DockerMediaType : ImageArchive.ManifestMediaType,
            config, layers);
    }

    /// <summary>The manifest's JSON.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", MediaType);
            json.WritePropertyName("config");
            Write(json, Config);
            json.WriteStartArray("layers");
            foreach (var layer in Layers)
            {
                Write(json, layer);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a manifest; null when it is not a single-platform image manifest.</summary>
    public static ImageManifest? Parse(ReadOnlySpan<byte> json, string? contentType)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            var mediaType = root.TryGetProperty("mediaType", out var type)
                ? type.GetString() ?? string.Empty
                : contentType ?? string.Empty;
            if (!Accepted.Contains(mediaType, StringComparer.Ordinal)
                || !root.TryGetProperty("config", out var config)
                || !root.TryGetProperty("layers", out var layers))
            {
                return null;
            }

            return new ImageManifest(mediaType, Read(config),
                [.. layers.EnumerateArray().Select(Read)]);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException
            or KeyNotFoundException or FormatException)
        {
            return null;
        }
    }

    private static BlobDescriptor Read(JsonElement element) => new(
        element.GetProperty("mediaType").GetString() ?? string.Empty,
        element.GetProperty("digest").GetString() ?? string.Empty,
        element.GetProperty("size").GetInt64());

    private static void Write(Utf8JsonWriter json, BlobDescriptor descriptor)
    {
        json.WriteStartObject();
        json.WriteString("mediaType", descriptor.MediaType);
        json.WriteString("digest", descriptor.Digest);
        json.WriteNumber("size", descriptor.Size);
        json.WriteEndObject();
    }
}
