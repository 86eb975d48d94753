using System.Buffers.Binary;
using System.Text;

namespace DockerToVms.Tasks.Vm;

/// <summary>Reads what an x86 kernel image (bzImage) says about itself.</summary>
internal static class KernelImage
{
    // The x86 boot protocol's setup header: "HdrS" at 0x202, and at 0x20e the offset (from
    // 0x200) of the version string, such as "6.12.0-1-amd64 (builder@host) #1 SMP ...".
    private const int MagicOffset = 0x202;
    private const int VersionPointerOffset = 0x20e;
    private const int HeaderStart = 0x200;

    /// <summary>
    /// The kernel's release (the name of its /lib/modules folder), or null when unknown.
    /// </summary>
    public static string? Release(string path)
    {
        var head = new byte[0x10000];
        int read;
        using (var file = File.OpenRead(path))
        {
            read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }

        if (read < 0x210 || Encoding.ASCII.GetString(head, MagicOffset, 4) != "HdrS")
        {
            return null;
        }

        var start = HeaderStart + BinaryPrimitives.ReadUInt16LittleEndian(
            head.AsSpan(VersionPointerOffset));
        if (start >= read)
        {
            return null;
        }

        var end = Array.IndexOf(head, (byte)' ', start);
        return end > start ? Encoding.ASCII.GetString(head, start, end - start) : null;
    }
}
