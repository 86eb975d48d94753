using System.Buffers.Binary;

namespace DockerToVms.Tasks.Tests.Qemu;

/// <summary>
/// Writes the smallest ELF files that tell a statically linked program from a dynamically
/// linked one: a header and one program header, which names a loader only when dynamic.
/// </summary>
internal static class TestElf
{
    private const uint Load = 1;
    private const uint LoaderName = 3;

    public static string Write(string path, bool dynamic, bool is64 = true)
    {
        var bytes = is64 ? Elf64(dynamic ? LoaderName : Load) : Elf32(dynamic ? LoaderName : Load);
        File.WriteAllBytes(path, bytes);
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("755", 8));
        return path;
    }

    private static byte[] Elf64(uint segmentType)
    {
        var file = new byte[64 + 56];
        Ident(file, elfClass: 2);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(32), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(54), 56);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(56), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(64), segmentType);
        return file;
    }

    private static byte[] Elf32(uint segmentType)
    {
        var file = new byte[52 + 32];
        Ident(file, elfClass: 1);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(28), 52);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(42), 32);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(44), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(52), segmentType);
        return file;
    }

    private static void Ident(byte[] file, byte elfClass)
    {
        file[0] = 0x7f;
        file[1] = (byte)'E';
        file[2] = (byte)'L';
        file[3] = (byte)'F';
        file[4] = elfClass;
        file[5] = 1;
        file[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(16), 2);
    }
}
