using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>An uncompressed layer: its diff_id (the SHA-256 of its tar) and its size.</summary>
/// <param name="DiffId">The layer's digest, <c>sha256:</c> and hex.</param>
/// <param name="Size">The tar's size in bytes.</param>
public sealed record LayerDigest(string DiffId, long Size);

/// <summary>An uncompressed layer kept in a file, ready to go into an image archive.</summary>
/// <param name="Path">The tar file.</param>
/// <param name="DiffId">The layer's digest, <c>sha256:</c> and hex.</param>
/// <param name="Size">The file's size in bytes.</param>
public sealed record LayerFile(string Path, string DiffId, long Size);

/// <summary>
/// Writes a root filesystem as an image layer: GNU tar packs it (see
/// <see cref="RootfsArchive"/> for what is kept and left out) and the archive is streamed to
/// the destination, its digest taken on the way. The destination can be a file, the body of
/// a request, or a compressor in front of either.
/// </summary>
public static class LayerWriter
{
    private const int BufferSize = 1 << 16;

    /// <summary>Writes the layer of the directory to the stream and returns its digest.</summary>
    /// <exception cref="DtvException">DTV3011 when tar is missing, DTV3009 when it fails.
    /// </exception>
    public static async Task<LayerDigest> WriteAsync(IToolRunner runner, string rootDirectory,
        Stream destination, CancellationToken cancellation)
    {
        if (runner.Find("tar") is null)
        {
            throw new DtvException("TarMissing");
        }

        using var digest = new DigestStream(destination);
        var result = await runner.RunPipedAsync(RootfsArchive.Create(rootDirectory),
            (tar, token) => tar.CopyToAsync(digest, BufferSize, token),
            cancellation).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new DtvException("TarFailed", rootDirectory, result.ExitCode, result.Tail);
        }

        await digest.FlushAsync(cancellation).ConfigureAwait(false);
        return new LayerDigest(digest.Digest, digest.BytesWritten);
    }

    /// <summary>Writes the layer of the directory to a new file.</summary>
    public static async Task<LayerFile> WriteFileAsync(IToolRunner runner, string rootDirectory,
        string path, CancellationToken cancellation)
    {
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None,
            BufferSize, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            var layer = await WriteAsync(runner, rootDirectory, file, cancellation)
                .ConfigureAwait(false);
            return new LayerFile(path, layer.DiffId, layer.Size);
        }
    }
}
