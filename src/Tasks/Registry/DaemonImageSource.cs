using System.Formats.Tar;
using System.Text.Json;
using System.Net.Sockets;
using DockerToVms.Tasks.Docker;
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
    /// <param name="dockerHost">The daemon's address, as <see cref="DockerConnection"/> takes
    /// it: <c>unix://</c> or <c>tcp://</c> (without TLS).</param>
    /// <param name="image">An image id or reference the daemon has.</param>
    /// <param name="workDirectory">Where the blobs are kept.</param>
    /// <param name="cancellation">Stops the transfer.</param>
    /// <exception cref="DtvException">DTV3144 when the daemon's archive is not readable.</exception>
    public static async Task<PushImage> SaveAsync(string dockerHost, string image,
        string workDirectory, CancellationToken cancellation)
    {
        // The engine's /images/NAME/get endpoint, read with this runtime's HTTP client: the
        // engine client library's chunked-transfer stream fails part-way through a saved
        // archive (it reports reading past the end while the archive has more to come).
        var address = new Uri(DockerConnection.Resolve(dockerHost));
        using var handler = new SocketsHttpHandler();
        var baseAddress = new Uri("http://docker/");
        if (address.Scheme == "unix")
        {
            handler.ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream,
                    ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(address.AbsolutePath),
                        token).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        else
        {
            baseAddress = new Uri($"http://{address.Authority}/");
        }

        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(
                new Uri(baseAddress, "images/" + Uri.EscapeDataString(image) + "/get"),
                HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new DtvException("DaemonImageSaveFailed", image, e.Message);
        }

        using var answer = response;
        if (!response.IsSuccessStatusCode)
        {
            throw new DtvException("DaemonImageSaveFailed", image,
                await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false));
        }

        var archive = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
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
        // Read synchronously, as the export does: the engine client's chunked stream fails
        // when the tar reader's asynchronous path reads on at the archive's end.
        using (var reader = new TarReader(archive, leaveOpen: true))
        {
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                cancellation.ThrowIfCancellationRequested();
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
                    entry.DataStream.CopyTo(buffer);
                    manifestJson = buffer.ToArray();
                    continue;
                }

                var path = Path.Combine(workDirectory, $"blob-{files.Count}");
                using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write,
                    FileShare.None, BufferSize);
                using var digest = new DigestStream(file);
                entry.DataStream.CopyTo(digest, BufferSize);
                files[name] = (path, digest.Digest, digest.BytesWritten);
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
