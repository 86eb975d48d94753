using System.Formats.Tar;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Export;

/// <summary>What an unpacked archive held.</summary>
/// <param name="Entries">The entries written.</param>
/// <param name="Bytes">The bytes of file content written.</param>
/// <param name="DroppedAttributes">Entries whose extended attributes were not kept.</param>
/// <param name="FirstDroppedAttribute">The first such entry, for the warning.</param>
public sealed record UnpackSummary(int Entries, long Bytes, int DroppedAttributes,
    string? FirstDroppedAttribute);

/// <summary>
/// Unpacks a tar archive of a container's file system into a root filesystem directory, and
/// refuses the whole archive at the first entry that could write anywhere else: an absolute
/// name, a <c>..</c> part, a parent that is a symbolic link (an entry is never written
/// through a link, wherever the link points), or a hard link to outside. A symbolic link
/// itself may point anywhere: it is only a name inside the image. Owners are kept as the
/// archive's numeric ids, and device nodes are made, when running as root.
/// </summary>
public sealed class RootfsUnpacker
{
    private const UnixFileMode NewDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite
        | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const string AttributePrefix = "SCHILY.xattr.";

    private readonly string _root;
    private readonly string _source;
    private readonly bool _asRoot;
    private readonly List<(string Path, TarEntry Entry)> _directories = [];

    /// <summary>Prepares to unpack into the directory, which is created when missing.</summary>
    /// <param name="rootDirectory">The root filesystem to fill.</param>
    /// <param name="source">Names the archive in errors, such as the image it came from.</param>
    /// <param name="asRoot">Whether owners and device nodes are kept; by default when root.</param>
    public RootfsUnpacker(string rootDirectory, string source, bool? asRoot = null)
    {
        _root = Path.GetFullPath(rootDirectory).TrimEnd('/');
        _source = source;
        _asRoot = asRoot ?? HostTools.IsRoot;
    }

    /// <summary>Reads the archive to its end and writes every entry below the root.</summary>
    /// <exception cref="DtvException">DTV6001 to DTV6005 for an entry that is refused.</exception>
    public UnpackSummary Unpack(Stream archive, CancellationToken cancellation)
    {
        Directory.CreateDirectory(_root);
        var entries = 0;
        var bytes = 0L;
        var dropped = 0;
        string? firstDropped = null;

        using var reader = new TarReader(archive, leaveOpen: true);
        while (reader.GetNextEntry(copyData: false) is { } entry)
        {
            cancellation.ThrowIfCancellationRequested();
            if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
            {
                continue;
            }

            var parts = PartsOf(entry.Name, entry.Name);
            if (IsContainerMarker(parts, entry))
            {
                continue;
            }

            bytes += Write(entry, parts);
            entries++;
            if (entry is PaxTarEntry pax && pax.ExtendedAttributes.Keys.Any(k =>
                k.StartsWith(AttributePrefix, StringComparison.Ordinal)))
            {
                dropped++;
                firstDropped ??= "/" + string.Join('/', parts);
            }
        }

        // Last, so that writing their content did not change them again.
        for (var i = _directories.Count - 1; i >= 0; i--)
        {
            var (path, directory) = _directories[i];
            SetMetadata(path, directory, setTime: true);
        }

        return new UnpackSummary(entries, bytes, dropped, firstDropped);
    }

    /// <summary>
    /// The parts of an entry's name below the root: no absolute name, no <c>..</c>, and
    /// <c>.</c> and empty parts dropped. An empty list names the root itself.
    /// </summary>
    /// <exception cref="DtvException">DTV6001 when the name leads outside.</exception>
    public string[] PartsOf(string name, string entryName)
    {
        if (name.StartsWith('/') || name.Contains('\0'))
        {
            throw new DtvException("ArchiveEntryEscapes", entryName, _source);
        }

        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p != ".").ToArray();
        if (parts.Contains(".."))
        {
            throw new DtvException("ArchiveEntryEscapes", entryName, _source);
        }

        return parts;
    }

    // Docker adds /.dockerenv to every container; it marks a running container, and an
    // image that carries it would claim to be one wherever it runs.
    private static bool IsContainerMarker(string[] parts, TarEntry entry) =>
        parts is [".dockerenv"] && entry.EntryType is TarEntryType.RegularFile
            or TarEntryType.V7RegularFile;

    private long Write(TarEntry entry, string[] parts)
    {
        if (parts.Length == 0)
        {
            if (entry.EntryType is not TarEntryType.Directory)
            {
                throw new DtvException("ArchiveEntryConflict", entry.Name, _source, "/");
            }

            _directories.Add((_root, entry));
            return 0;
        }

        var parent = EnsureParent(parts, entry.Name);
        var path = Path.Combine(parent, parts[^1]);
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                WriteDirectory(path, entry);
                return 0;

            case TarEntryType.RegularFile or TarEntryType.V7RegularFile
                or TarEntryType.ContiguousFile:
                return WriteFile(path, entry);

            case TarEntryType.SymbolicLink:
                RemoveExisting(path, entry);
                File.CreateSymbolicLink(path, entry.LinkName);
                SetOwner(path, entry);
                return 0;

            case TarEntryType.HardLink:
                WriteHardLink(path, entry);
                return 0;

            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice
                or TarEntryType.Fifo:
                RemoveExisting(path, entry);
                if (!_asRoot && entry.EntryType is not TarEntryType.Fifo)
                {
                    throw new DtvException("NotRoot");
                }

                entry.ExtractToFile(path, overwrite: false);
                SetMetadata(path, entry, setTime: false);
                return 0;

            default:
                throw new DtvException("ArchiveEntryUnsupported", entry.Name, _source,
                    entry.EntryType.ToString());
        }
    }

    // Walks down from the root, making missing directories and refusing any part that is a
    // link or not a directory: the entry must land in the tree, not wherever a link leads.
    private string EnsureParent(string[] parts, string entryName)
    {
        var current = _root;
        foreach (var part in parts[..^1])
        {
            current = Path.Combine(current, part);
            var info = new FileInfo(current);
            if (info.LinkTarget is not null)
            {
                throw new DtvException("ArchiveEntryThroughLink", entryName, _source,
                    "/" + Path.GetRelativePath(_root, current));
            }

            if (info.Exists)
            {
                throw new DtvException("ArchiveEntryConflict", entryName, _source,
                    "/" + Path.GetRelativePath(_root, current));
            }

            if (!Directory.Exists(current))
            {
                Directory.CreateDirectory(current, NewDirectoryMode);
            }
        }

        return current;
    }

    private void WriteDirectory(string path, TarEntry entry)
    {
        var info = new DirectoryInfo(path);
        if (info.LinkTarget is not null || (!info.Exists && File.Exists(path)))
        {
            File.Delete(path);
        }

        Directory.CreateDirectory(path);
        _directories.Add((path, entry));
    }

    private long WriteFile(string path, TarEntry entry)
    {
        RemoveExisting(path, entry);

        // CreateNew fails on anything already there, a link included, so nothing is
        // written through a link that appeared at this name.
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write,
            FileShare.None, 1 << 16))
        {
            entry.DataStream?.CopyTo(file);
        }

        SetMetadata(path, entry, setTime: true);
        return entry.Length;
    }

    private void WriteHardLink(string path, TarEntry entry)
    {
        var targetParts = PartsOf(entry.LinkName, entry.Name);
        if (targetParts.Length == 0)
        {
            throw new DtvException("ArchiveHardLinkInvalid", entry.Name, _source, entry.LinkName);
        }

        var target = Path.Combine(EnsureParent(targetParts, entry.Name), targetParts[^1]);
        var info = new FileInfo(target);
        if (Directory.Exists(target) && info.LinkTarget is null
            || !info.Exists && info.LinkTarget is null)
        {
            throw new DtvException("ArchiveHardLinkInvalid", entry.Name, _source, entry.LinkName);
        }

        RemoveExisting(path, entry);
        NativeMethods.HardLink(target, path);
    }

    // An earlier entry of the same name is replaced, as tar does; a link is removed itself,
    // never followed. A real directory stays and the entry conflicts with it.
    private void RemoveExisting(string path, TarEntry entry)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || info.Exists)
        {
            File.Delete(path);
        }
        else if (Directory.Exists(path))
        {
            throw new DtvException("ArchiveEntryConflict", entry.Name, _source,
                "/" + Path.GetRelativePath(_root, path));
        }
    }

    // The owner first: changing it clears the set-user-ID and set-group-ID bits.
    private void SetMetadata(string path, TarEntry entry, bool setTime)
    {
        SetOwner(path, entry);
        File.SetUnixFileMode(path, entry.Mode);
        if (setTime)
        {
            var time = entry.ModificationTime.UtcDateTime;
            if (Directory.Exists(path))
            {
                Directory.SetLastWriteTimeUtc(path, time);
            }
            else
            {
                File.SetLastWriteTimeUtc(path, time);
            }
        }
    }

    private void SetOwner(string path, TarEntry entry)
    {
        if (!_asRoot)
        {
            return;
        }

        try
        {
            NativeMethods.SetOwner(path, entry.Uid, entry.Gid);
        }
        catch (IOException) when (entry.Uid > ushort.MaxValue || entry.Gid > ushort.MaxValue)
        {
            // Only a user namespace lacks ids; it maps 65536 of them.
            throw new DtvException("IdOutsideNamespace", entry.Name, entry.Uid, entry.Gid);
        }
    }
}
