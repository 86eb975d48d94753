using System.IO.Compression;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Packs a whole root filesystem directory as a newc cpio archive, plain or gzip-compressed:
/// the initramfs a kernel unpacks into its first root. Owners, groups, modes, links and device
/// nodes are kept as they are on disk, so the VM's root is the image's root.
/// </summary>
public static class InitramfsWriter
{
    /// <summary>What was written: the archive's size before and after compression.</summary>
    public sealed record Result(long UncompressedBytes, long CompressedBytes);

    /// <summary>Writes the archive of <paramref name="rootDirectory"/> to the output file.</summary>
    public static Result Write(string rootDirectory, string outputFile, bool gzip)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputFile))!);
        var partial = outputFile + ".partial";
        long uncompressed;
        using (var file = File.Create(partial))
        {
            using var compressed = gzip
                ? new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true)
                : null;
            var writer = new NewcWriter(compressed ?? (Stream)file);
            WriteTree(writer, rootDirectory);
            writer.Finish();
            uncompressed = writer.Length;
        }

        // Renamed only when complete, so an interrupted build never leaves a truncated image
        // that looks finished.
        File.Move(partial, outputFile, overwrite: true);
        return new Result(uncompressed, new FileInfo(outputFile).Length);
    }

    /// <summary>Adds every entry below the root, each directory before what it holds.</summary>
    public static void WriteTree(NewcWriter writer, string rootDirectory)
    {
        var root = Path.GetFullPath(rootDirectory).TrimEnd('/');
        var hasConsole = false;
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var directory = pending.Pop();
            var children = new DirectoryInfo(directory).EnumerateFileSystemInfos()
                .OrderBy(e => e.Name, StringComparer.Ordinal)
                .ToList();
            foreach (var entry in children)
            {
                var name = entry.FullName[(root.Length + 1)..];
                hasConsole |= name == "dev/console";
                var status = FileStatus.Of(entry.FullName);
                var permissions = status.Mode & 0xFFF;
                var time = status.ModificationTime;
                switch (status.Type)
                {
                    case NewcWriter.Directory:
                        writer.AddDirectory(name, permissions, status.Owner, status.Group, time);
                        break;
                    case NewcWriter.RegularFile:
                        using (var content = File.OpenRead(entry.FullName))
                        {
                            writer.AddFile(name, permissions, content, content.Length,
                                status.Owner, status.Group, time);
                        }

                        break;
                    case NewcWriter.SymbolicLink:
                        writer.AddSymbolicLink(name, entry.LinkTarget ?? string.Empty,
                            status.Owner, status.Group, time);
                        break;
                    default:
                        // Device nodes, FIFOs and sockets: sockets are not kept, as in a
                        // tar of the same tree.
                        if (status.Type != 0xC000)
                        {
                            writer.AddNode(name, status.Mode, status.DeviceMajor,
                                status.DeviceMinor, status.Owner, status.Group, time);
                        }

                        break;
                }
            }

            // Reversed onto the stack, so subdirectories come out in name order.
            foreach (var child in children.Where(IsRealDirectory).Reverse())
            {
                pending.Push(child.FullName);
            }
        }

        // The kernel opens /dev/console of the initramfs before it starts /init; without it
        // the init's first lines would go nowhere.
        if (!hasConsole)
        {
            if (!Directory.Exists(Path.Combine(root, "dev")))
            {
                writer.AddDirectory("dev", 0x1ED);
            }

            writer.AddNode("dev/console", NewcWriter.CharacterDevice | 0x180, 5, 1);
        }
    }

    private static bool IsRealDirectory(FileSystemInfo entry) =>
        entry is DirectoryInfo && entry.LinkTarget is null;
}
