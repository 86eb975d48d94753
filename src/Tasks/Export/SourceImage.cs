using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Export;

/// <summary>
/// The image a base starts from (BaseImageFrom): an image the local Docker daemon already
/// has, named by reference or id, or an image archive file as <c>docker save</c> writes it
/// (plain or gzip-compressed). A value is taken as a file when it names an existing file,
/// starts like a path (<c>/</c>, <c>./</c>, <c>../</c>, <c>~/</c>) or ends in <c>.tar</c>,
/// <c>.tar.gz</c> or <c>.tgz</c>; anything else is an image reference.
/// </summary>
public sealed record SourceImage
{
    private static readonly string[] s_archiveEndings = [".tar", ".tar.gz", ".tgz"];

    /// <summary>What the user wrote.</summary>
    public required string Value { get; init; }

    /// <summary>The archive's full path, or null for an image in the daemon.</summary>
    public string? ArchivePath { get; init; }

    /// <summary>Whether the image comes from an archive file.</summary>
    public bool IsArchive => ArchivePath is not null;

    /// <summary>Tells a file from a reference; relative paths are taken from the directory.</summary>
    public static SourceImage Parse(string value, string baseDirectory)
    {
        var trimmed = value.Trim();
        var expanded = trimmed.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
                trimmed[2..])
            : trimmed;
        var full = Path.GetFullPath(expanded, baseDirectory.Length > 0
            ? baseDirectory
            : Directory.GetCurrentDirectory());
        var looksLikePath = expanded.StartsWith('/') || trimmed.StartsWith("./", StringComparison.Ordinal)
            || trimmed.StartsWith("../", StringComparison.Ordinal)
            || s_archiveEndings.Any(e => trimmed.EndsWith(e, StringComparison.OrdinalIgnoreCase));
        return File.Exists(full) || looksLikePath
            ? new SourceImage { Value = trimmed, ArchivePath = full }
            : new SourceImage { Value = trimmed };
    }
}

/// <summary>The image an archive holds, read from its manifest and configuration.</summary>
/// <param name="Id">The image id: <c>sha256:</c> and the digest of the configuration.</param>
/// <param name="Architecture">The processor in Docker's names, such as <c>amd64</c>.</param>
/// <param name="Variant">The processor's variant, such as <c>v7</c>; empty for none.</param>
public sealed record ArchivedImage(string Id, string Architecture, string Variant);

/// <summary>
/// Reads an image archive as <c>docker save</c> writes it: the one entry of its
/// <c>manifest.json</c> names the image's configuration, whose digest is the image id.
/// Only small JSON entries are kept in memory; layers are skipped.
/// </summary>
public static class ImageArchiveFile
{
    private const string ManifestName = "manifest.json";
    private const int LargestKept = 4 << 20;

    /// <summary>Reads the image the archive holds.</summary>
    /// <exception cref="DtvException">DTV6007 when the file is missing, DTV6008 when it is not
    /// an image archive, DTV6009 when it holds other than one image.</exception>
    public static ArchivedImage Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new DtvException("SourceArchiveMissing", path);
        }

        var small = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            using var file = OpenDecompressed(path);
            using var reader = new TarReader(file);
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.DataStream is { } data && entry.Length <= LargestKept
                    && entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                {
                    using var copy = new MemoryStream();
                    data.CopyTo(copy);
                    small[Normalize(entry.Name)] = copy.ToArray();
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException
            or EndOfStreamException or ArgumentException)
        {
            throw new DtvException("SourceArchiveInvalid", path, e.Message);
        }

        if (!small.TryGetValue(ManifestName, out var manifestBytes))
        {
            throw new DtvException("SourceArchiveInvalid", path, "no " + ManifestName);
        }

        return FromManifest(path, manifestBytes, small);
    }

    /// <summary>The archive as a stream, decompressed when it starts like gzip.</summary>
    public static Stream OpenDecompressed(string path)
    {
        var file = File.OpenRead(path);
        var magic = new byte[2];
        var read = file.Read(magic, 0, 2);
        file.Position = 0;
        return read == 2 && magic[0] == 0x1f && magic[1] == 0x8b
            ? new GZipStream(file, CompressionMode.Decompress)
            : file;
    }

    private static ArchivedImage FromManifest(string path, byte[] manifestBytes,
        Dictionary<string, byte[]> entries)
    {
        JsonArray images;
        try
        {
            images = JsonNode.Parse(manifestBytes) as JsonArray
                ?? throw new DtvException("SourceArchiveInvalid", path, ManifestName);
        }
        catch (JsonException e)
        {
            throw new DtvException("SourceArchiveInvalid", path, e.Message);
        }

        if (images.Count != 1)
        {
            throw new DtvException("SourceArchiveNotOneImage", path, images.Count);
        }

        var configName = images[0]?["Config"]?.GetValue<string>();
        if (configName is null || !entries.TryGetValue(Normalize(configName), out var config))
        {
            throw new DtvException("SourceArchiveInvalid", path, ManifestName + ": Config");
        }

        var id = "sha256:" + Convert.ToHexString(SHA256.HashData(config)).ToLowerInvariant();
        try
        {
            var document = JsonNode.Parse(config);
            return new ArchivedImage(id,
                document?["architecture"]?.GetValue<string>() ?? string.Empty,
                document?["variant"]?.GetValue<string>() ?? string.Empty);
        }
        catch (JsonException e)
        {
            throw new DtvException("SourceArchiveInvalid", path, e.Message);
        }
    }

    private static string Normalize(string name) =>
        name.StartsWith("./", StringComparison.Ordinal) ? name[2..] : name;
}
