using System.Buffers.Binary;
using System.Text;

namespace DockerToVms.IntegrationTests.Qemu;

/// <summary>
/// A complete, statically linked aarch64 Linux program of 171 bytes that prints
/// <see cref="Greeting"/> and exits with 0. An x86-64 kernel refuses to run it ("Exec format
/// error") unless binfmt_misc hands it to QEMU, which makes it an honest probe of a
/// registration without downloading anything.
/// </summary>
internal static class Aarch64Program
{
    public const string Greeting = "hello from aarch64";

    private const ulong LoadAddress = 0x400000;
    private const int HeaderSize = 64;
    private const int SegmentHeaderSize = 56;

    public static string Write(string path)
    {
        var text = Encoding.ASCII.GetBytes(Greeting + "\n");

        // write(1, text, length); exit(0). The text follows the eight instructions, and the
        // adr in the second instruction points 28 bytes ahead of itself.
        uint[] instructions =
        [
            MoveWide(0, 1),
            0x10000000 | (7u << 5) | 1, // adr x1, text
            MoveWide(2, (uint)text.Length),
            MoveWide(8, 64),            // the write system call
            0xd4000001,                 // svc #0
            MoveWide(0, 0),
            MoveWide(8, 93),            // the exit system call
            0xd4000001,
        ];

        var codeOffset = HeaderSize + SegmentHeaderSize;
        var file = new byte[codeOffset + (instructions.Length * 4) + text.Length];
        var span = file.AsSpan();

        // ELF header: 64-bit, little-endian, version 1, an executable for machine 0xb7.
        span[0] = 0x7f;
        "ELF"u8.CopyTo(span[1..]);
        span[4] = 2;
        span[5] = 1;
        span[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(span[16..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(span[18..], 0xb7);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(span[24..], LoadAddress + (ulong)codeOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(span[32..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[52..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[54..], SegmentHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[56..], 1);

        // One segment, readable and executable, loading the whole file.
        var segment = span[HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(segment, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(segment[4..], 5);
        BinaryPrimitives.WriteUInt64LittleEndian(segment[16..], LoadAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(segment[24..], LoadAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(segment[32..], (ulong)file.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(segment[40..], (ulong)file.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(segment[48..], 0x1000);

        for (var i = 0; i < instructions.Length; i++)
        {
            var at = codeOffset + (i * 4);
            BinaryPrimitives.WriteUInt32LittleEndian(span[at..], instructions[i]);
        }

        text.CopyTo(span[(codeOffset + (instructions.Length * 4))..]);
        File.WriteAllBytes(path, file);
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("755", 8));
        return path;
    }

    // movz xN, #value
    private static uint MoveWide(int register, uint value) =>
        0xd2800000 | (value << 5) | (uint)register;
}
