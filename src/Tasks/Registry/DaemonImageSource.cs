using System.Formats.Tar;
using System.Text.Json;
using Docker.DotNet;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Registry;

/// <summary>
/// Takes an image out of the Docker daemon as <c>docker save</c> does, and lays it out for a
/// push: each layer in a file of its own (uncompressed, so its digest is its diff_id) and the
/// configuration's bytes as the daemon stored them, so the image id stays the same.
/// </summary>
public static class DaemonImageSource
{
    private const int BufferSize = 1 << 16;

    /// <summary>Saves the image into the work directory and describes it.</summary>
    /// <exception cref="DtvException">DTV3144 when the daemon's archive is not readable.</exception>
    public static async Task<PushImage> SaveAsync(IDockerClient client, string image,
        string workDirectory, CancellationToken cancellation)
    {
        Stream archive;
        try
        {
            archive = await client.Images.SaveImageAsync(image, cancellation)
                .ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw new DtvException("DaemonImageSaveFailed", image, e.ResponseBody ?? e.Message);
        }

        await using (archive.ConfigureAwait(false))
        {
            return await ReadAsync(archive, image, workDirectory, cancellation)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Reads a <c>docker save</c> archive of one image from the stream.</summary>
    public static async Task<PushImage> ReadAsync(Stream archive, string image,
        string workDirectory, CancellationToken cancellation)
    {
        // Every file is kept by its name in the archive; manifest.json, which may come
        // last, says which are the configuration and the layers.
        var files = new Dictionary<string, (string Path, string Digest, long Size)>(
            StringComparer.Ordinal);
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        byte[]? manifestJson = null;
        var reader = new TarReader(archive, leaveOpen: true);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.GetNextEntryAsync(copyData: false, cancellation)
                .ConfigureAwait(false) is { } entry)
            {
                var name = entry.Name.TrimStart('.', '/');
                if (entry.EntryType is TarEntryType.SymbolicLink)
                {
                    links[name] = Path.GetFullPath("/" + Path.Combine(
                        Path.GetDirectoryName(name) ?? string.Empty, entry.LinkName))[1..];
                    continue;
                }

                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                    || entry.DataStream is null)
                {
                    continue;
                }

                if (name == "manifest.json")
                {
                    using var buffer = new MemoryStream();
                    await entry.DataStream.CopyToAsync(buffer, cancellation).ConfigureAwait(false);
                    manifestJson = buffer.ToArray();
                    continue;
                }

                var path = Path.Combine(workDirectory, $"blob-{files.Count}");
                var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write,
                    FileShare.None, BufferSize, FileOptions.Asynchronous);
                await using (file.ConfigureAwait(false))
                {
                    using var digest = new DigestStream(file);
                    await entry.DataStream.CopyToAsync(digest, BufferSize, cancellation)
                        .ConfigureAwait(false);
                    files[name] = (path, digest.Digest, digest.BytesWritten);
                }
            }
        }

        (string Path, string Digest, long Size) Find(string name) =>
            files.TryGetValue(name, out var found) ? found
            : links.TryGetValue(name, out var target) ? Find(target)
            : throw new DtvException("DaemonImageSaveFailed", image, $"'{name}' is missing");

        if (manifestJson is null)
        {
            throw new DtvException("DaemonImageSaveFailed", image, "manifest.json is missing");
        }

        try
        {
            using var manifest = JsonDocument.Parse(manifestJson);
            var entry = manifest.RootElement.EnumerateArray().Single();
            var config = Find(entry.GetProperty("Config").GetString()!);
            var layers = entry.GetProperty("Layers").EnumerateArray()
                .Select(l => Find(l.GetString()!))
                .Select(l => new PushLayer(l.Path, l.Digest, l.Digest,
                    ImageArchive.LayerMediaType, l.Size))
                .ToList();
            return new PushImage(layers, await File.ReadAllBytesAsync(config.Path, cancellation)
                .ConfigureAwait(false));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException
            or KeyNotFoundException)
        {
            throw new DtvException("DaemonImageSaveFailed", image, "manifest.json is not one image");
        }
    }
}
