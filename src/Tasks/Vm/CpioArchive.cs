using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Writes a gzip-compressed cpio archive in the "newc" format the kernel unpacks as an
/// initramfs. Entries are written as given, owned by root, with time 0, so the same entries
/// always give the same bytes.
/// </summary>
internal sealed class CpioArchive : IDisposable
{
    private const int Directory = 0x4000;
    private const int RegularFile = 0x8000;
    private const int CharacterDevice = 0x2000;

    private readonly Stream _file;
    private readonly GZipStream _output;
    private int _inode = 1;
    private long _position;

    /// <summary>Creates the archive file.</summary>
    public CpioArchive(string path)
    {
        _file = File.Create(path);
        _output = new GZipStream(_file, CompressionLevel.SmallestSize);
    }

    /// <summary>Adds a directory.</summary>
    public void AddDirectory(string name, int mode = 0x1ed) =>
        WriteHeader(name, Directory | mode, 0, 0, 0);

    /// <summary>Adds a character device node, such as the console.</summary>
    public void AddCharacterDevice(string name, int mode, int major, int minor) =>
        WriteHeader(name, CharacterDevice | mode, 0, major, minor);

    /// <summary>Adds a regular file with the given content.</summary>
    public void AddFile(string name, byte[] content, int mode = 0x1a4)
    {
        WriteHeader(name, RegularFile | mode, content.Length, 0, 0);
        Write(content);
        Pad();
    }

    /// <summary>Writes the trailer and closes the archive.</summary>
    public void Dispose()
    {
        WriteHeader("TRAILER!!!", 0, 0, 0, 0);
        _output.Dispose();
        _file.Dispose();
    }

    private void WriteHeader(string name, int mode, long size, int major, int minor)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var fields = new long[]
        {
            _inode++, mode, 0, 0, (mode & Directory) != 0 ? 2 : 1, 0, size,
            0, 0, major, minor, nameBytes.Length + 1, 0,
        };
        var header = new StringBuilder("070701");
        foreach (var field in fields)
        {
            header.Append(field.ToString("X8", CultureInfo.InvariantCulture));
        }

        Write(Encoding.ASCII.GetBytes(header.ToString()));
        Write(nameBytes);
        Write([0]);
        Pad();
    }

    private void Write(byte[] bytes)
    {
        _output.Write(bytes);
        _position += bytes.Length;
    }

    // Headers and file data both start on a four-byte boundary.
    private void Pad()
    {
        var padding = (int)((4 - (_position % 4)) % 4);
        Write(new byte[padding]);
    }
}
