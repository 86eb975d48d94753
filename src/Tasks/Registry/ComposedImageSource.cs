using System.Text.Json;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Registry;

/// <summary>
/// The image this library wrote itself (see <see cref="AppImageComposer"/>), read back from
/// the files the archive step kept: its configuration's exact bytes and its uncompressed
/// layers. Pushed as they are, they give the archive's own image id and, in the OCI format,
/// its manifest digest; no daemon is needed.
/// </summary>
public static class ComposedImageSource
{
    /// <summary>Reads the configuration and checks the layers against it.</summary>
    /// <param name="configFile">The configuration's JSON, as the archive holds it.</param>
    /// <param name="layers">The layer files, bottom first.</param>
    /// <param name="cancellation">Stops the reading.</param>
    /// <exception cref="DtvException">DTV3150 when a file is gone, has another size, or the
    /// configuration names other layers: the files changed after the archive was
    /// written.</exception>
    public static async Task<PushImage> ReadAsync(string configFile,
        IReadOnlyList<LayerFile> layers, CancellationToken cancellation)
    {
        if (!File.Exists(configFile))
        {
            throw new DtvException("ComposedImageChanged", configFile, "it is gone");
        }

        var configJson = await File.ReadAllBytesAsync(configFile, cancellation)
            .ConfigureAwait(false);
        var diffIds = DiffIds(configFile, configJson);
        if (!diffIds.SequenceEqual(layers.Select(l => l.DiffId), StringComparer.Ordinal))
        {
            throw new DtvException("ComposedImageChanged", configFile,
                $"it names the layers {string.Join(", ", diffIds)}, not "
                + string.Join(", ", layers.Select(l => l.DiffId)));
        }

        // The digests are not taken again (the registry checks each upload against its
        // digest); a file that is gone or has another size is caught here, before a push.
        foreach (var layer in layers)
        {
            var file = new FileInfo(layer.Path);
            if (!file.Exists || file.Length != layer.Size)
            {
                throw new DtvException("ComposedImageChanged", layer.Path,
                    file.Exists ? $"it has {file.Length} bytes, not {layer.Size}" : "it is gone");
            }
        }

        return new PushImage(
            [.. layers.Select(l => new PushLayer(l.Path, l.DiffId, l.DiffId,
                ImageArchive.LayerMediaType, l.Size))],
            configJson);
    }

    private static List<string> DiffIds(string configFile, byte[] configJson)
    {
        try
        {
            using var document = JsonDocument.Parse(configJson);
            return [.. document.RootElement.GetProperty("rootfs").GetProperty("diff_ids")
                .EnumerateArray().Select(d => d.GetString() ?? string.Empty)];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException
            or KeyNotFoundException)
        {
            throw new DtvException("ComposedImageChanged", configFile,
                "it is not an image configuration");
        }
    }
}
