using System.Formats.Tar;
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
/// Writes a root filesystem as an image layer with <see cref="LayerTarWriter"/>: every entry
/// in name order, owners as the tree holds them (numbers only), hard links, device nodes,
/// named pipes, symbolic links and file capabilities kept, times clamped to
/// SOURCE_DATE_EPOCH when it is set. The contents of the kernel's mount points (dev, proc,
/// sys, run) and of other file systems mounted inside the tree are left out, since the
/// container runtime mounts its own; sockets are left out too. The archive is streamed to
/// the destination, its digest taken on the way, so the destination can be a file, the body
/// of a request, or a compressor in front of either.
/// </summary>
public static class LayerWriter
{
    private const int BufferSize = 1 << 16;

    private static readonly string[] s_runtimeMounts = ["dev", "proc", "sys", "run"];

    /// <summary>Writes the layer of the directory to the stream and returns its digest.</summary>
    /// <param name="rootDirectory">The root filesystem.</param>
    /// <param name="destination">Where the tar goes.</param>
    /// <param name="latestTime">The latest time an entry may carry; by default the one
    /// SOURCE_DATE_EPOCH names, if any.</param>
    /// <param name="cancellation">Stops between entries.</param>
    /// <exception cref="DtvException">DTV3100 when a file cannot be read.</exception>
    public static async Task<LayerDigest> WriteAsync(string rootDirectory, Stream destination,
        CancellationToken cancellation, DateTimeOffset? latestTime = null)
    {
        var root = Path.GetFullPath(rootDirectory).TrimEnd('/');
        if (!Directory.Exists(root))
        {
            throw new DtvException("RootfsMissing", rootDirectory);
        }

        // The buffer gathers the many small header writes; it is flushed, not disposed,
        // since disposing it would close the streams under it.
        using var digest = new DigestStream(destination);
        var buffered = new BufferedStream(digest, BufferSize);
        try
        {
            await System.Threading.Tasks.Task.Run(() => Write(root, buffered,
                latestTime ?? LayerTarWriter.EpochFromEnvironment(), cancellation),
                cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DtvException("LayerWriteFailed", rootDirectory, e.Message);
        }

        await buffered.FlushAsync(cancellation).ConfigureAwait(false);
        await digest.FlushAsync(cancellation).ConfigureAwait(false);
        return new LayerDigest(digest.Digest, digest.BytesWritten);
    }

    /// <summary>Writes the layer of the directory to a new file.</summary>
    public static async Task<LayerFile> WriteFileAsync(string rootDirectory, string path,
        CancellationToken cancellation, DateTimeOffset? latestTime = null)
    {
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None,
            BufferSize, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            var layer = await WriteAsync(rootDirectory, file, cancellation, latestTime)
                .ConfigureAwait(false);
            return new LayerFile(path, layer.DiffId, layer.Size);
        }
    }

    private static void Write(string root, Stream output, DateTimeOffset? latestTime,
        CancellationToken cancellation)
    {
        var rootStatus = FileStatus.Read(root);
        var names = new List<(string Name, string Path)>();
        Collect(root, "./", rootStatus.Device, names);
        names.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));

        // The first name of a file with several, in name order, carries its content; the
        // others are links to it, so the choice does not depend on the order of a listing.
        var firstNames = new Dictionary<(ulong Device, ulong Inode), string>();
        using var tar = new LayerTarWriter(output, latestTime);
        foreach (var (name, path) in names)
        {
            cancellation.ThrowIfCancellationRequested();
            var status = name == "./" ? rootStatus : FileStatus.Read(path);
            var modified = DateTimeOffset.FromUnixTimeSeconds(status.ModifiedSeconds);
            if (status.IsDirectory)
            {
                tar.AddDirectory(name, status.Permissions, status.Uid, status.Gid, modified);
            }
            else if (status.IsSymbolicLink)
            {
                tar.AddSymbolicLink(name, new FileInfo(path).LinkTarget ?? string.Empty,
                    status.Uid, status.Gid, modified);
            }
            else if (status.Links > 1 && !status.IsDirectory
                && firstNames.TryGetValue((status.Device, status.Inode), out var first))
            {
                tar.AddHardLink(name, first, status.Permissions, status.Uid, status.Gid,
                    modified);
            }
            else if (status.IsFile)
            {
                if (status.Links > 1)
                {
                    firstNames[(status.Device, status.Inode)] = name;
                }

                using var content = new FileStream(path, FileMode.Open, FileAccess.Read,
                    FileShare.Read, BufferSize);
                tar.AddFile(name, status.Permissions, status.Uid, status.Gid, modified, content,
                    FileStatus.ReadCapabilities(path));
            }
            else if (status.IsCharacterDevice || status.IsBlockDevice || status.IsFifo)
            {
                var type = status.IsCharacterDevice ? TarEntryType.CharacterDevice
                    : status.IsBlockDevice ? TarEntryType.BlockDevice
                    : TarEntryType.Fifo;
                tar.AddSpecial(name, type, status.Permissions, status.Uid, status.Gid, modified,
                    status.DeviceMajor, status.DeviceMinor);
            }
        }
    }

    // Lists the tree without following links. A directory on another file system (a mount
    // inside the tree) is kept as an empty directory, as are the kernel's mount points.
    private static void Collect(string root, string name, ulong device,
        List<(string Name, string Path)> names)
    {
        var pending = new Stack<(string Name, string Path)>();
        pending.Push((name, root));
        while (pending.Count > 0)
        {
            var (directoryName, directory) = pending.Pop();
            names.Add((directoryName, directory));
            if (directoryName != "./" && FileStatus.Read(directory).Device != device)
            {
                continue;
            }

            if (directoryName.Count(c => c == '/') == 2
                && s_runtimeMounts.Contains(directoryName[2..^1], StringComparer.Ordinal))
            {
                continue;
            }

            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
            {
                var entryName = directoryName + entry.Name;
                if (entry is DirectoryInfo && entry.LinkTarget is null)
                {
                    pending.Push((entryName + "/", entry.FullName));
                }
                else
                {
                    names.Add((entryName, entry.FullName));
                }
            }
        }
    }
}
