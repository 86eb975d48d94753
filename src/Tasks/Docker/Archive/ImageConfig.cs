using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>One step of an image's history, as <c>docker history</c> shows it.</summary>
/// <param name="CreatedBy">What made the step, such as the tool and its inputs.</param>
/// <param name="Comment">A note on the step.</param>
/// <param name="EmptyLayer">Whether the step changed only the configuration, not the files.</param>
public sealed record ImageHistoryStep(string CreatedBy, string Comment = "",
    bool EmptyLayer = false);

/// <summary>
/// An image's configuration as the OCI image specification and Docker's image archives hold
/// it: the platform (architecture, variant, os), the run settings, the layers' diff_ids and
/// the history. Its JSON is written with a fixed order and no insignificant white space, so
/// equal configurations give equal bytes, and so the same image id.
/// </summary>
public sealed record ImageConfig
{
    // Keys of the "config" object, with the capitalised names Docker has always used there.
    private const string ExposedPortsKey = "ExposedPorts";
    private const string LabelsKey = "Labels";
    private const string UserKey = "User";

    /// <summary>
    /// The processor, in Docker's (and Go's) names: <c>amd64</c>, <c>arm64</c>, <c>arm</c>.
    /// </summary>
    public required string Architecture { get; init; }

    /// <summary>The processor's variant, such as <c>v8</c> for arm64 or <c>v7</c> for arm.</summary>
    public string? Variant { get; init; }

    /// <summary>The operating system; always <c>linux</c> here.</summary>
    public string OperatingSystem { get; init; } = "linux";

    /// <summary>When the image was made; whole seconds are written.</summary>
    public DateTimeOffset Created { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>Environment variables as <c>NAME=value</c>, in order.</summary>
    public IReadOnlyList<string> Environment { get; init; } = [];

    /// <summary>The program and its fixed arguments; null for none.</summary>
    public IReadOnlyList<string>? Entrypoint { get; init; }

    /// <summary>The default arguments; null for none.</summary>
    public IReadOnlyList<string>? Cmd { get; init; }

    /// <summary>The working directory; empty for the root.</summary>
    public string WorkingDirectory { get; init; } = string.Empty;

    /// <summary>The user the image runs as; empty for root.</summary>
    public string User { get; init; } = string.Empty;

    /// <summary>Exposed ports as <c>number/protocol</c>.</summary>
    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    /// <summary>Labels; written sorted by key.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } =
        new Dictionary<string, string>();

    /// <summary>The diff_ids of the layers, bottom first.</summary>
    public IReadOnlyList<string> DiffIds { get; init; } = [];

    /// <summary>The history, oldest first; every step made at <see cref="Created"/>.</summary>
    public IReadOnlyList<ImageHistoryStep> History { get; init; } = [];

    /// <summary>The configuration as JSON, keys in a fixed order.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        // Values are written as they are (no \u escapes for '+' or '<'): the JSON is read by
        // image tools and people, never put into a web page.
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            var created = Created.ToUniversalTime()
                .ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            json.WriteStartObject();
            json.WriteString("architecture", Architecture);
            WriteRunSettings(json);
            json.WriteString("created", created);
            WriteHistory(json, created);
            json.WriteString("os", OperatingSystem);
            json.WriteStartObject("rootfs");
            json.WriteString("type", "layers");
            WriteStrings(json, "diff_ids", DiffIds);
            json.WriteEndObject();
            if (!string.IsNullOrEmpty(Variant))
            {
                json.WriteString("variant", Variant);
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private void WriteRunSettings(Utf8JsonWriter json)
    {
        json.WriteStartObject("config");
        if (Cmd is not null)
        {
            WriteStrings(json, "Cmd", Cmd);
        }

        if (Entrypoint is not null)
        {
            WriteStrings(json, "Entrypoint", Entrypoint);
        }

        WriteStrings(json, "Env", Environment);
        if (ExposedPorts.Count > 0)
        {
            json.WriteStartObject(ExposedPortsKey);
            foreach (var port in ExposedPorts.Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal))
            {
                json.WriteStartObject(port);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        json.WriteStartObject(LabelsKey);
        foreach (var (key, value) in Labels.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
        json.WriteString(UserKey, User);
        json.WriteString("WorkingDir", WorkingDirectory);
        json.WriteEndObject();
    }

    private void WriteHistory(Utf8JsonWriter json, string created)
    {
        json.WriteStartArray("history");
        foreach (var step in History)
        {
            json.WriteStartObject();
            if (step.Comment.Length > 0)
            {
                json.WriteString("comment", step.Comment);
            }

            json.WriteString("created", created);
            json.WriteString("created_by", step.CreatedBy);
            if (step.EmptyLayer)
            {
                json.WriteBoolean("empty_layer", true);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name,
        IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }
}
