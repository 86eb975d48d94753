using System.Security.Cryptography;
using System.Text;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// What a root filesystem directory holds, counted once: how many entries, how many bytes
/// in 4 KiB blocks, and a seed that identifies it (from names and sizes, not contents) for
/// the image's GUIDs and labels, so that the same root gives the same identifiers.
/// </summary>
internal sealed record RootContent(long Entries, long BlockBytes, Guid Seed)
{
    private const long Block = 4096;

    /// <summary>Counts a directory without following symbolic links.</summary>
    public static RootContent Measure(string directory)
    {
        long entries = 1, bytes = Block;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var pending = new Stack<string>();
        pending.Push(directory);
        while (pending.Count > 0)
        {
            var folder = pending.Pop();
            foreach (var path in Directory.EnumerateFileSystemEntries(folder)
                .Order(StringComparer.Ordinal))
            {
                // A link is counted as a link: it may point anywhere on the build machine
                // (/var/run -> /run), and following it would count the machine's files.
                var info = new FileInfo(path);
                var isLink = info.LinkTarget is not null;
                var isFolder = !isLink && info.Attributes.HasFlag(FileAttributes.Directory);
                var size = isLink || isFolder ? 0 : info.Length;
                if (isFolder)
                {
                    pending.Push(path);
                }

                entries++;
                bytes += Math.Max(Block, (size + Block - 1) / Block * Block);
                hash.AppendData(Encoding.UTF8.GetBytes(
                    $"{Path.GetRelativePath(directory, path)}\0{size}\n"));
            }
        }

        return new RootContent(entries, bytes, new Guid(hash.GetHashAndReset().AsSpan(0, 16)));
    }

    /// <summary>
    /// The journal's size in MiB, fixed so that the size needed does not depend on the disk's.
    /// </summary>
    public const long JournalMiB = 32;

    /// <summary>The inodes the ext4 file system gets: the entries with room for a third more.</summary>
    public long Inodes => Math.Max(4096, Entries + (Entries / 3));

    /// <summary>
    /// The smallest ext4 file system, in MiB, that holds the content: the blocks, 256 bytes
    /// an inode, a tenth for directories' and extents' metadata and block groups, and the
    /// journal (<see cref="JournalMiB"/>).
    /// </summary>
    public long Ext4MiB
    {
        get
        {
            var metadata = (Inodes * 256) + (BlockBytes / 10);
            var total = BlockBytes + metadata + ((JournalMiB + 8) * DiskLayout.MiB);
            return (total + DiskLayout.MiB - 1) / DiskLayout.MiB;
        }
    }
}
