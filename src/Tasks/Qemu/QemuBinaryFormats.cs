using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Qemu;

/// <summary>
/// How binfmt_misc recognises Linux programs of each processor that QEMU emulates: the first
/// 20 bytes of an ELF header, and a mask saying which of their bits must match.
/// </summary>
/// <remarks>
/// <para>The 20 bytes are, in order: the signature <c>7f 45 4c 46</c> ("\x7fELF"); the class
/// (<c>01</c> 32-bit, <c>02</c> 64-bit); the byte order (<c>01</c> little-endian, <c>02</c>
/// big-endian); the ELF version <c>01</c>; the OS ABI; the ABI version; seven bytes of
/// padding; then two bytes of object type (<c>2</c> for an executable) and two bytes of
/// machine, both in the file's byte order.</para>
/// <para>The masks clear the bits that legitimately vary. Every mask clears the type's lowest
/// bit, so that position-independent executables (type 3) match as well as type 2. Some
/// masks also let the OS ABI or ABI version vary where toolchains for that processor write
/// different values there. The values are those QEMU's own registration script has used
/// for years, so an entry registered here matches one that script or a distribution
/// package registered.</para>
/// </remarks>
public static class QemuBinaryFormats
{
    // Mask shared by most little-endian targets: OS ABI free, type 2 or 3.
    private const string CommonMask = "ffffffffffffff00ffffffffffffffff" + "feffffff";

    // x86 masks also let the lowest bit of the byte order and ELF version bytes vary, as
    // QEMU's script has always registered them.
    private const string X86Mask = "fffffffffffefe00ffffffffffffffff" + "feffffff";

    private static readonly Dictionary<string, (string Magic, string Mask)> s_formats =
        new(StringComparer.Ordinal)
        {
            // 64-bit little-endian, machine 0xb7 (AArch64).
            ["aarch64"] = ("7f454c46020101000000000000000000" + "0200b700", CommonMask),

            // 32-bit little-endian, machine 0x28 (ARM): armhf and armel alike.
            ["arm"] = ("7f454c46010101000000000000000000" + "02002800", CommonMask),

            // 64-bit little-endian, machine 0xf3 (RISC-V).
            ["riscv64"] = ("7f454c46020101000000000000000000" + "0200f300", CommonMask),

            // 64-bit little-endian, machine 0x15 (PowerPC 64); the OS ABI's low bits and the
            // last machine byte may vary.
            ["ppc64le"] = ("7f454c46020101000000000000000000" + "02001500",
                "fffffffffffffffcffffffffffffffff" + "feffff00"),

            // 64-bit big-endian, machine 0x16 (S/390), so type and machine read 00 02 00 16.
            ["s390x"] = ("7f454c46020201000000000000000000" + "00020016",
                "fffffffffffffffcffffffffffffffff" + "fffeffff"),

            // 64-bit little-endian, machine 0x08 (MIPS); the ABI version's low bit may vary.
            ["mips64el"] = ("7f454c46020101000000000000000000" + "02000800",
                "ffffffffffffff00feffffffffffffff" + "feffffff"),

            // 32-bit little-endian, machine 0x03 (Intel 80386).
            ["i386"] = ("7f454c46010101000000000000000000" + "02000300", X86Mask),

            // 64-bit little-endian, machine 0x3e (x86-64).
            ["x86_64"] = ("7f454c46020101000000000000000000" + "02003e00", X86Mask),
        };

    /// <summary>The flags this library registers with: fix-binary and credentials.</summary>
    public const BinfmtOptions Flags = BinfmtOptions.FixBinary | BinfmtOptions.Credentials;

    /// <summary>The QEMU names this table covers.</summary>
    public static IEnumerable<string> QemuNames => s_formats.Keys;

    /// <summary>
    /// Whether the build machine runs programs of the architecture without emulation: its
    /// own architecture, i386 on amd64, and armel on armhf (an ARMv7 processor runs the
    /// older ARM code; the two differ only in how user space passes floating point values).
    /// </summary>
    /// <remarks>
    /// This goes by name; the processor is not asked. An arm64 processor that can run 32-bit
    /// ARM code still gets armhf and armel emulated, which is slower but works. i386 on amd64
    /// relies on the kernel's 32-bit support, which Debian and Ubuntu kernels enable.
    /// </remarks>
    public static bool RunsNatively(string hostArchitecture, string architecture) =>
        string.Equals(hostArchitecture, architecture, StringComparison.Ordinal)
        || (hostArchitecture, architecture) is ("amd64", "i386") or ("armhf", "armel");

    /// <summary>The entry name for an architecture: <c>qemu-aarch64</c> for arm64.</summary>
    public static string EntryName(string architecture) =>
        "qemu-" + DebianArchitecture.ToQemu(architecture);

    /// <summary>The entry that has the kernel run the architecture's programs.</summary>
    /// <exception cref="DtvException">DTV4007 when no format is known for it.</exception>
    public static BinfmtEntry EntryFor(string architecture, string interpreter)
    {
        var qemu = DebianArchitecture.ToQemu(architecture);
        if (!s_formats.TryGetValue(qemu, out var format))
        {
            throw new DtvException("QemuArchitectureUnsupported", architecture,
                string.Join(", ", DebianArchitecture.Known.Where(a =>
                    s_formats.ContainsKey(DebianArchitecture.ToQemu(a)))));
        }

        return new BinfmtEntry(EntryName(architecture), interpreter, offset: 0,
            Convert.FromHexString(format.Magic), Convert.FromHexString(format.Mask), Flags);
    }
}
