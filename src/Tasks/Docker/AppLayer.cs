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
    /// <param name="output">Where the tar goes.</param>
    /// <param name="latestTime">The latest time an entry may carry; by default the one
    /// SOURCE_DATE_EPOCH names, if any.</param>
    public void WriteTo(Stream output, DateTimeOffset? latestTime = null)
    {
        // Numeric root ownership and no account names: nothing of the build machine's
        // accounts reaches the image. Times are kept (web servers derive cache headers from
        // them), clamped to SOURCE_DATE_EPOCH when it is set.
        using var writer = new Archive.LayerTarWriter(output,
            latestTime ?? Archive.LayerTarWriter.EpochFromEnvironment());
        var prefix = string.Empty;
        foreach (var part in _workingDirectory.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            prefix += part + "/";
            writer.AddDirectory(prefix, Executable, 0, 0, DateTimeOffset.UnixEpoch);
        }

        // Every entry in name order, the extra files among the app's own.
        var entries = _entries.Select(e => (Name: prefix + RelativeName(e), Entry: e,
                Destination: (string?)null))
            .Concat(_extraFiles.Select(f => (Name: f.Value.TrimStart('/'),
                Entry: (FileSystemInfo)new FileInfo(f.Key), Destination: (string?)f.Value)))
            .OrderBy(e => e.Entry is DirectoryInfo && e.Destination is null
                ? e.Name + "/" : e.Name, StringComparer.Ordinal);
        foreach (var (name, entry, destination) in entries)
        {
            var time = new DateTimeOffset(entry.LastWriteTimeUtc, TimeSpan.Zero);
            if (destination is null && entry.LinkTarget is { } link)
            {
                writer.AddSymbolicLink(name, link, 0, 0, time);
            }
            else if (destination is null && entry is DirectoryInfo)
            {
                writer.AddDirectory(name, Executable, 0, 0, time);
            }
            else
            {
                using var content = ((FileInfo)entry).OpenRead();
                writer.AddFile(name, destination is null ? ModeOf(entry) : Readable, 0, 0,
                    time, content);
            }
        }
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
