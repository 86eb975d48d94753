using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// The published app as an image layer: every file of the publish folder under the working
/// directory, owned by root and readable by everyone, in name order. Its digest covers the
/// base image, the settings and each file's path, mode and content, so an unchanged app on
/// an unchanged base is recognised without building anything.
/// </summary>
public sealed class AppLayer
{
    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite
        | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite
        | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly string _publishDirectory;
    private readonly string _workingDirectory;
    private readonly List<FileSystemInfo> _entries;
    private readonly List<KeyValuePair<string, string>> _extraFiles;

    /// <summary>Reads the publish folder's listing.</summary>
    /// <param name="publishDirectory">The folder the app was published to.</param>
    /// <param name="workingDirectory">Where the app goes in the image.</param>
    /// <param name="extraFiles">
    /// Files of the build placed elsewhere in the image (such as the SBOM): the file on the
    /// build machine and its absolute path in the image. Missing parent directories are
    /// created by the daemon when it unpacks the layer.
    /// </param>
    public AppLayer(string publishDirectory, string workingDirectory,
        IEnumerable<KeyValuePair<string, string>>? extraFiles = null)
    {
        _publishDirectory = Path.GetFullPath(publishDirectory);
        _workingDirectory = workingDirectory.Trim('/');
        _entries = [.. Walk(new DirectoryInfo(_publishDirectory))
            .OrderBy(e => RelativeName(e), StringComparer.Ordinal)];
        _extraFiles = [.. (extraFiles ?? [])
            .OrderBy(f => f.Value, StringComparer.Ordinal)];
    }

    /// <summary>The number of files in the layer.</summary>
    public int FileCount => _entries.Count(e => e is FileInfo);

    /// <summary>The digest over base, settings and every file.</summary>
    public string ComputeDigest(string baseImageId, string settingsJson)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, baseImageId);
        Append(hash, settingsJson);
        foreach (var entry in _entries)
        {
            Append(hash, RelativeName(entry));
            Append(hash, ModeOf(entry).ToString());
            if (entry.LinkTarget is { } link)
            {
                Append(hash, "->" + link);
            }
            else if (entry is FileInfo file)
            {
                using var stream = file.OpenRead();
                Append(hash, Convert.ToHexString(SHA256.HashData(stream)));
            }
        }

        foreach (var (source, destination) in _extraFiles)
        {
            Append(hash, "+" + destination);
            Append(hash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(source))));
        }

        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>Writes the layer as a tar archive to the stream.</summary>
    public void WriteTo(Stream output)
    {
        using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        var prefix = string.Empty;
        foreach (var part in _workingDirectory.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            prefix += part + "/";
            writer.WriteEntry(Directory(prefix, Executable, DateTimeOffset.UnixEpoch));
        }

        foreach (var entry in _entries)
        {
            var name = prefix + RelativeName(entry);
            if (entry.LinkTarget is { } link)
            {
                writer.WriteEntry(Owned(new PaxTarEntry(TarEntryType.SymbolicLink, name)
                {
                    LinkName = link,
                    Mode = Executable,
                }, entry));
            }
            else if (entry is DirectoryInfo)
            {
                writer.WriteEntry(Directory(name + "/", Executable, TimeOf(entry)));
            }
            else
            {
                using var content = ((FileInfo)entry).OpenRead();
                writer.WriteEntry(Owned(new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    Mode = ModeOf(entry),
                    DataStream = content,
                }, entry));
            }
        }

        foreach (var (source, destination) in _extraFiles)
        {
            using var content = File.OpenRead(source);
            writer.WriteEntry(Owned(new PaxTarEntry(TarEntryType.RegularFile,
                destination.TrimStart('/'))
            {
                Mode = Readable,
                DataStream = content,
            }, new FileInfo(source)));
        }
    }

    private static PaxTarEntry Directory(string name, UnixFileMode mode, DateTimeOffset time) =>
        Owned(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode }, time);

    private static PaxTarEntry Owned(PaxTarEntry entry, FileSystemInfo source) =>
        Owned(entry, TimeOf(source));

    // Numeric root ownership and no account names: nothing of the build machine's accounts
    // reaches the image. Times are kept, since web servers derive cache headers from them.
    private static PaxTarEntry Owned(PaxTarEntry entry, DateTimeOffset time)
    {
        entry.Uid = 0;
        entry.Gid = 0;
        entry.UserName = string.Empty;
        entry.GroupName = string.Empty;
        entry.ModificationTime = time;
        return entry;
    }

    // SOURCE_DATE_EPOCH, when set, is the latest time any file may carry.
    private static DateTimeOffset TimeOf(FileSystemInfo entry)
    {
        var time = new DateTimeOffset(entry.LastWriteTimeUtc, TimeSpan.Zero);
        var epoch = System.Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        return long.TryParse(epoch, out var seconds)
            && DateTimeOffset.FromUnixTimeSeconds(seconds) is var limit && time > limit
                ? limit
                : time;
    }

    private static UnixFileMode ModeOf(FileSystemInfo entry) =>
        entry is DirectoryInfo || (entry.UnixFileMode & UnixFileMode.UserExecute) != 0
            ? Executable
            : Readable;

    private string RelativeName(FileSystemInfo entry) =>
        Path.GetRelativePath(_publishDirectory, entry.FullName).Replace('\\', '/');

    private static IEnumerable<FileSystemInfo> Walk(DirectoryInfo directory)
    {
        foreach (var entry in directory.EnumerateFileSystemInfos())
        {
            yield return entry;
            if (entry is DirectoryInfo child && entry.LinkTarget is null)
            {
                foreach (var inner in Walk(child))
                {
                    yield return inner;
                }
            }
        }
    }

    private static void Append(IncrementalHash hash, string text)
    {
        hash.AppendData(Encoding.UTF8.GetBytes(text));
        hash.AppendData([0]);
    }
}
