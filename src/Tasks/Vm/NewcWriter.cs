using System.Globalization;
using System.Text;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Writes a cpio archive in the "new ASCII" (newc) format, the one the Linux kernel unpacks
/// as an initramfs: a 110-byte header of hexadecimal fields, the name, the data, each padded
/// to four bytes, and a TRAILER!!! entry at the end.
/// </summary>
public sealed class NewcWriter
{
    /// <summary>S_IFDIR.</summary>
    public const uint Directory = 0x4000;

    /// <summary>S_IFREG.</summary>
    public const uint RegularFile = 0x8000;

    /// <summary>S_IFLNK.</summary>
    public const uint SymbolicLink = 0xA000;

    /// <summary>S_IFCHR.</summary>
    public const uint CharacterDevice = 0x2000;

    /// <summary>S_IFBLK.</summary>
    public const uint BlockDevice = 0x6000;

    /// <summary>S_IFIFO.</summary>
    public const uint Fifo = 0x1000;

    private readonly Stream _output;
    private uint _inode = 1;
    private long _position;

    /// <summary>Creates a writer onto the stream; nothing is written until an entry is added.</summary>
    public NewcWriter(Stream output) => _output = output;

    /// <summary>The bytes written so far (before any compression the stream applies).</summary>
    public long Length => _position;

    /// <summary>Adds a directory.</summary>
    public void AddDirectory(string name, uint permissions, uint owner = 0, uint group = 0,
        long time = 0) =>
        WriteHeader(name, Directory | permissions, owner, group, 2, time, 0, 0, 0);

    /// <summary>Adds a regular file with the whole content of the stream.</summary>
    public void AddFile(string name, uint permissions, Stream content, long length,
        uint owner = 0, uint group = 0, long time = 0)
    {
        WriteHeader(name, RegularFile | permissions, owner, group, 1, time, length, 0, 0);
        var copied = 0L;
        var buffer = new byte[81920];
        int read;
        while (copied < length
               && (read = content.Read(buffer, 0, (int)Math.Min(buffer.Length, length - copied))) > 0)
        {
            Write(buffer.AsSpan(0, read));
            copied += read;
        }

        // A file that shrank while it was read still gets the length its header promised.
        if (copied < length)
        {
            Write(new byte[length - copied]);
        }

        Pad();
    }

    /// <summary>Adds a regular file with the given bytes.</summary>
    public void AddFile(string name, uint permissions, byte[] content, uint owner = 0,
        uint group = 0, long time = 0)
    {
        using var stream = new MemoryStream(content, writable: false);
        AddFile(name, permissions, stream, content.Length, owner, group, time);
    }

    /// <summary>Adds a symbolic link; its data is the target.</summary>
    public void AddSymbolicLink(string name, string target, uint owner = 0, uint group = 0,
        long time = 0)
    {
        var bytes = Encoding.UTF8.GetBytes(target);
        WriteHeader(name, SymbolicLink | 0x1FF, owner, group, 1, time, bytes.Length, 0, 0);
        Write(bytes);
        Pad();
    }

    /// <summary>Adds a device node or a FIFO (type bits in <paramref name="mode"/>).</summary>
    public void AddNode(string name, uint mode, uint major, uint minor, uint owner = 0,
        uint group = 0, long time = 0) =>
        WriteHeader(name, mode, owner, group, 1, time, 0, major, minor);

    /// <summary>Ends the archive; the writer must not be used afterwards.</summary>
    public void Finish()
    {
        _inode = 0;
        WriteHeader("TRAILER!!!", 0, 0, 0, 1, 0, 0, 0, 0);
    }

    private void WriteHeader(string name, uint mode, uint owner, uint group, uint links,
        long time, long size, uint major, uint minor)
    {
        if (size > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size,
                "newc stores sizes in 32 bits; '" + name + "' is too large for an initramfs");
        }

        var nameBytes = Encoding.UTF8.GetBytes(name);
        var header = new StringBuilder("070701", 110);
        foreach (var field in new[]
                 {
                     _inode == 0 ? 0 : _inode++, mode, owner, group, links,
                     (uint)Math.Clamp(time, 0, uint.MaxValue), (uint)size,
                     0u, 0u, major, minor, (uint)nameBytes.Length + 1, 0u,
                 })
        {
            header.Append(field.ToString("x8", CultureInfo.InvariantCulture));
        }

        Write(Encoding.ASCII.GetBytes(header.ToString()));
        Write(nameBytes);
        Write([0]);
        Pad();
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        _position += bytes.Length;
    }

    private void Pad()
    {
        var padding = (int)((4 - (_position % 4)) % 4);
        if (padding > 0)
        {
            Write(new byte[padding]);
        }
    }
}
