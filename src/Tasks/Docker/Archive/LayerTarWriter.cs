using System.Formats.Tar;
using System.Globalization;
using System.Text;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>
/// Writes the entries of an image layer so that the same files give the same bytes on any
/// machine: owners are numeric only (no user or group names), times are whole seconds and
/// never later than <see cref="LatestTime"/> when one is given, and nothing else of the
/// machine or the process goes in. Entries are GNU-format headers, which carry long names
/// and large ids without extended headers. An entry with file capabilities is a ustar entry
/// after a POSIX extended header (<c>SCHILY.xattr.security.capability</c>), written here
/// rather than by <see cref="TarWriter"/>, whose extended headers are named after the
/// writing process's id and carry fractional times.
/// </summary>
public sealed class LayerTarWriter : IDisposable
{
    /// <summary>The prefix of an extended attribute's key in a POSIX extended header.</summary>
    public const string AttributePrefix = "SCHILY.xattr.";

    private const int BlockSize = 512;

    private readonly Stream _output;
    private readonly TarWriter _writer;

    /// <summary>Writes to the stream, which is left open.</summary>
    /// <param name="output">Where the tar goes.</param>
    /// <param name="latestTime">The latest modification time an entry may carry (from
    /// SOURCE_DATE_EPOCH); null to keep every time as it is.</param>
    public LayerTarWriter(Stream output, DateTimeOffset? latestTime)
    {
        _output = output;
        _writer = new TarWriter(output, TarEntryFormat.Gnu, leaveOpen: true);
        LatestTime = latestTime;
    }

    /// <summary>The latest modification time an entry may carry; null for no limit.</summary>
    public DateTimeOffset? LatestTime { get; }

    /// <summary>The number of entries written.</summary>
    public int Count { get; private set; }

    /// <summary>Reads SOURCE_DATE_EPOCH as a time: a whole number of seconds since 1970.</summary>
    /// <returns>Null when the value is empty or not such a number.</returns>
    public static DateTimeOffset? ParseEpoch(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    /// <summary>The time SOURCE_DATE_EPOCH in this process's environment names, if any.</summary>
    public static DateTimeOffset? EpochFromEnvironment() =>
        ParseEpoch(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"));

    /// <summary>Adds a directory; a '/' is appended to the name when missing.</summary>
    public void AddDirectory(string name, UnixFileMode mode, int uid, int gid,
        DateTimeOffset modified) =>
        Write(Entry(TarEntryType.Directory, name.EndsWith('/') ? name : name + "/", mode, uid,
            gid, modified), null);

    /// <summary>Adds a regular file with its content and, if any, its file capabilities.</summary>
    public void AddFile(string name, UnixFileMode mode, int uid, int gid,
        DateTimeOffset modified, Stream content, byte[]? capabilities = null)
    {
        var entry = Entry(TarEntryType.RegularFile, name, mode, uid, gid, modified);
        entry.DataStream = content;
        Write(entry, capabilities);
    }

    /// <summary>Adds a symbolic link; its target is kept exactly as it is.</summary>
    public void AddSymbolicLink(string name, string target, int uid, int gid,
        DateTimeOffset modified)
    {
        var entry = Entry(TarEntryType.SymbolicLink, name, (UnixFileMode)0x1FF, uid, gid,
            modified);
        entry.LinkName = target;
        Write(entry, null);
    }

    /// <summary>Adds a second name of a file added before under <paramref name="target"/>.</summary>
    public void AddHardLink(string name, string target, UnixFileMode mode, int uid, int gid,
        DateTimeOffset modified)
    {
        var entry = Entry(TarEntryType.HardLink, name, mode, uid, gid, modified);
        entry.LinkName = target;
        Write(entry, null);
    }

    /// <summary>Adds a character or block device node, or a named pipe.</summary>
    public void AddSpecial(string name, TarEntryType type, UnixFileMode mode, int uid, int gid,
        DateTimeOffset modified, int major = 0, int minor = 0)
    {
        if (type is not (TarEntryType.CharacterDevice or TarEntryType.BlockDevice
            or TarEntryType.Fifo))
        {
            throw new ArgumentException($"{type} is not a device or pipe.", nameof(type));
        }

        var entry = Entry(type, name, mode, uid, gid, modified);
        if (type != TarEntryType.Fifo)
        {
            entry.DeviceMajor = major;
            entry.DeviceMinor = minor;
        }

        Write(entry, null);
    }

    /// <summary>Ends the archive with its two empty blocks.</summary>
    public void Dispose() => _writer.Dispose();

    private GnuTarEntry Entry(TarEntryType type, string name, UnixFileMode mode, int uid,
        int gid, DateTimeOffset modified) =>
        new(type, name)
        {
            Mode = mode,
            Uid = uid,
            Gid = gid,
            UserName = string.Empty,
            GroupName = string.Empty,
            ModificationTime = Clamp(modified),
        };

    private DateTimeOffset Clamp(DateTimeOffset time)
    {
        var seconds = DateTimeOffset.FromUnixTimeSeconds(Math.Max(0, time.ToUnixTimeSeconds()));
        return LatestTime is { } latest && seconds > latest ? latest : seconds;
    }

    private void Write(GnuTarEntry entry, byte[]? capabilities)
    {
        if (capabilities is not { Length: > 0 })
        {
            _writer.WriteEntry(entry);
            Count++;
            return;
        }

        // Readers merge an extended header into a ustar entry after it (a GNU one is read as
        // GNU, attributes dropped), so such an entry is written as ustar. A name too long for
        // ustar goes into the extended header, which readers take over the header's own.
        var records = new List<KeyValuePair<string, byte[]>>
        {
            new(AttributePrefix + FileStatus.CapabilityAttribute, capabilities),
        };
        var name = entry.Name;
        if (!FitsUstar(name))
        {
            records.Insert(0, new("path", Encoding.UTF8.GetBytes(name)));
            name = "PaxPath";
        }

        _output.Flush();
        WriteExtendedHeader(entry.Name, entry.ModificationTime, records);
        _writer.WriteEntry(new UstarTarEntry(entry.EntryType, name)
        {
            Mode = entry.Mode,
            Uid = entry.Uid,
            Gid = entry.Gid,
            UserName = string.Empty,
            GroupName = string.Empty,
            ModificationTime = entry.ModificationTime,
            DataStream = entry.DataStream,
        });
        Count++;
    }

    // Ustar holds a name of up to 100 bytes, or one it can split at a '/' into a prefix of
    // up to 155 bytes and a rest of up to 100.
    private static bool FitsUstar(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length <= 100)
        {
            return true;
        }

        for (var i = bytes.Length - 1; i > 0; i--)
        {
            if (bytes[i] == (byte)'/' && i <= 155 && bytes.Length - i - 1 <= 100)
            {
                return true;
            }
        }

        return false;
    }

    // A POSIX extended header ('x') for the entry that follows: a ustar header block named
    // after that entry, then the records, padded to whole blocks. Values are raw bytes, as
    // GNU tar and the container tools write binary attributes.
    private void WriteExtendedHeader(string entryName, DateTimeOffset modified,
        IReadOnlyList<KeyValuePair<string, byte[]>> records)
    {
        using var body = new MemoryStream();
        foreach (var (key, value) in records)
        {
            var rest = Encoding.UTF8.GetByteCount(key) + value.Length + 3;
            var length = rest + Digits(rest);
            length = rest + Digits(length);
            body.Write(Encoding.ASCII.GetBytes(length.ToString(CultureInfo.InvariantCulture)
                + " " + key + "="));
            body.Write(value);
            body.WriteByte((byte)'\n');
        }

        var trimmed = entryName.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        var headerName = (slash < 0 ? "." : trimmed[..slash]) + "/PaxHeaders/"
            + trimmed[(slash + 1)..];
        var header = new byte[BlockSize];
        PutText(header, 0, 100, headerName);
        PutOctal(header, 100, 8, 0x1A4);
        PutOctal(header, 108, 8, 0);
        PutOctal(header, 116, 8, 0);
        PutOctal(header, 124, 12, body.Length);
        PutOctal(header, 136, 12, modified.ToUnixTimeSeconds());
        header[156] = (byte)'x';
        PutText(header, 257, 6, "ustar");
        header[263] = (byte)'0';
        header[264] = (byte)'0';
        header.AsSpan(148, 8).Fill((byte)' ');
        var sum = header.Sum(b => (long)b);
        PutOctal(header, 148, 7, sum);

        _output.Write(header);
        body.WriteTo(_output);
        var padding = (int)((BlockSize - body.Length % BlockSize) % BlockSize);
        _output.Write(new byte[padding]);
    }

    private static int Digits(int value) =>
        value.ToString(CultureInfo.InvariantCulture).Length;

    // Fields longer than their room are cut at a character: a reader takes the name of an
    // entry from the entry itself, never from the header that describes it.
    private static void PutText(byte[] header, int offset, int size, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var length = Math.Min(bytes.Length, size);
        while (length < bytes.Length && length > 0 && (bytes[length] & 0xC0) == 0x80)
        {
            length--;
        }

        bytes.AsSpan(0, length).CopyTo(header.AsSpan(offset));
    }

    // Octal digits, zero-padded, followed by a NUL, as ustar writes numbers.
    private static void PutOctal(byte[] header, int offset, int size, long value)
    {
        var text = Convert.ToString(value, 8).PadLeft(size - 1, '0');
        Encoding.ASCII.GetBytes(text).CopyTo(header, offset);
        header[offset + size - 1] = 0;
    }
}
