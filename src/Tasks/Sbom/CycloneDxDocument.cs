using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DockerToVms.Tasks.Sbom;

/// <summary>What an SBOM describes: the image, the distribution and the packages.</summary>
public sealed record SbomContent
{
    /// <summary>The image repository.</summary>
    public required string Repository { get; init; }

    /// <summary>The image's first tag.</summary>
    public string Tag { get; init; } = "latest";

    /// <summary>The app's name; empty to leave the app out.</summary>
    public string AppName { get; init; } = string.Empty;

    /// <summary>The app's version.</summary>
    public string AppVersion { get; init; } = string.Empty;

    /// <summary>The distribution of the base.</summary>
    public required OperatingSystem OperatingSystem { get; init; }

    /// <summary>The Debian packages installed in the base.</summary>
    public IReadOnlyList<DebianPackage> DebianPackages { get; init; } = [];

    /// <summary>The NuGet packages the app was published with.</summary>
    public IReadOnlyList<NuGetPackage> NuGetPackages { get; init; } = [];

    /// <summary>The generating tool's version.</summary>
    public string ToolVersion { get; init; } = string.Empty;
}

/// <summary>
/// Writes an SBOM as CycloneDX 1.6 JSON. The output depends on the content alone: no
/// timestamp, components in a fixed order, and a serial number derived from a hash of the
/// rest of the document, so an unchanged image gives the same bytes.
/// </summary>
public static class CycloneDxDocument
{
    /// <summary>The CycloneDX version written.</summary>
    public const string SpecVersion = "1.6";

    private static readonly JsonWriterOptions s_options = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The document's bytes, UTF-8 without byte-order mark, ending with a newline.</summary>
    public static byte[] Write(SbomContent content)
    {
        var body = Serialize(content, serialNumber: null);
        var serial = SerialNumber(body);
        var bytes = Serialize(content, serial);
        return [.. bytes, (byte)'\n'];
    }

    /// <summary>
    /// A <c>urn:uuid:</c> made from the SHA-256 of the text, shaped as a name-based UUID
    /// (version 5, RFC 4122 variant) so that schema checks accept it.
    /// </summary>
    public static string SerialNumber(byte[] text)
    {
        var hash = SHA256.HashData(text).AsSpan(0, 16).ToArray();
        hash[6] = (byte)((hash[6] & 0x0f) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3f) | 0x80);
        var hex = Convert.ToHexString(hash).ToLowerInvariant();
        return $"urn:uuid:{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    private static byte[] Serialize(SbomContent content, string? serialNumber)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, s_options))
        {
            json.WriteStartObject();
            json.WriteString("bomFormat", "CycloneDX");
            json.WriteString("specVersion", SpecVersion);
            if (serialNumber is not null)
            {
                json.WriteString("serialNumber", serialNumber);
            }

            json.WriteNumber("version", 1);
            WriteMetadata(json, content);

            json.WriteStartArray("components");
            WriteOperatingSystem(json, content.OperatingSystem);
            if (content.AppName.Length > 0)
            {
                WriteComponent(json, "application", "app", content.AppName, content.AppVersion,
                    purl: null, hash: null, source: "project");
            }

            foreach (var package in content.DebianPackages)
            {
                var purl = PackageUrl.Deb(content.OperatingSystem.Id, package.Name,
                    package.Version, package.Architecture, content.OperatingSystem.Distro);
                WriteComponent(json, "library", purl, package.Name, package.Version, purl,
                    hash: null, source: "dpkg", package);
            }

            foreach (var package in content.NuGetPackages)
            {
                var purl = PackageUrl.NuGet(package.Name, package.Version);
                WriteComponent(json, "library", purl, package.Name, package.Version, purl,
                    package.Sha512.Length > 0 ? package.Sha512 : null, source: "nuget");
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteMetadata(Utf8JsonWriter json, SbomContent content)
    {
        json.WriteStartObject("metadata");
        json.WriteStartObject("tools");
        json.WriteStartArray("components");
        json.WriteStartObject();
        json.WriteString("type", "application");
        json.WriteString("name", "DockerToVms");
        if (content.ToolVersion.Length > 0)
        {
            json.WriteString("version", content.ToolVersion);
        }

        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();

        json.WriteStartObject("component");
        json.WriteString("type", "container");
        json.WriteString("bom-ref", "image");
        json.WriteString("name", content.Repository);
        json.WriteString("version", content.Tag);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteOperatingSystem(Utf8JsonWriter json, OperatingSystem system)
    {
        json.WriteStartObject();
        json.WriteString("type", "operating-system");
        json.WriteString("bom-ref", "os");
        json.WriteString("name", system.Id);
        if (system.Version.Length > 0)
        {
            json.WriteString("version", system.Version);
        }

        json.WriteString("description", system.Name);
        json.WriteEndObject();
    }

    private static void WriteComponent(Utf8JsonWriter json, string type, string reference,
        string name, string version, string? purl, string? hash, string source,
        DebianPackage? debian = null)
    {
        json.WriteStartObject();
        json.WriteString("type", type);
        json.WriteString("bom-ref", reference);
        json.WriteString("name", name);
        if (version.Length > 0)
        {
            json.WriteString("version", version);
        }

        if (hash is not null)
        {
            json.WriteStartArray("hashes");
            json.WriteStartObject();
            json.WriteString("alg", "SHA-512");
            json.WriteString("content", hash);
            json.WriteEndObject();
            json.WriteEndArray();
        }

        if (purl is not null)
        {
            json.WriteString("purl", purl);
        }

        json.WriteStartArray("properties");
        WriteProperty(json, "dockertovms:package:source", source);
        if (debian is not null && (debian.Source != debian.Name || debian.SourceVersion != debian.Version))
        {
            WriteProperty(json, "dockertovms:package:source-package",
                debian.Source + " " + debian.SourceVersion);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteProperty(Utf8JsonWriter json, string name, string value)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        json.WriteString("value", value);
        json.WriteEndObject();
    }

    /// <summary>The digest of the document's bytes, as <c>sha256:</c> and hex.</summary>
    public static string Digest(byte[] document) =>
        "sha256:" + Convert.ToHexString(SHA256.HashData(document)).ToLowerInvariant();
}
