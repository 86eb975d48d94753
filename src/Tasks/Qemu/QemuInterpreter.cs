using System.Buffers.Binary;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Qemu;

/// <summary>
/// Finds QEMU's user-mode emulator on the build machine. Only a statically linked emulator
/// will do: once the kernel starts it for a program inside a root filesystem of another
/// architecture, a dynamically linked one would look for its libraries there and fail.
/// </summary>
public static class QemuInterpreter
{
    /// <summary>The package with the statically linked emulators on Debian and Ubuntu.</summary>
    public const string Package = "qemu-user-static";

    /// <summary>Where the emulators are looked for, in order.</summary>
    public static IReadOnlyList<string> DefaultDirectories { get; } =
        ["/usr/bin", "/usr/local/bin"];

    // ELF program header type of the entry that names a dynamic loader.
    private const uint InterpreterSegment = 3;

    private static readonly byte[] s_elf = [0x7f, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>
    /// The emulator to register: the one given, or else <c>qemu-NAME-static</c> (what
    /// qemu-user-static installs up to Debian 12) or a statically linked <c>qemu-NAME</c>
    /// (newer packaging) in the given directories. Debian's
    /// <c>/usr/libexec/qemu-binfmt/NAME-binfmt-P</c> links are not used: they expect the
    /// <c>P</c> flag, which this library does not register.
    /// </summary>
    /// <param name="qemuName">QEMU's name for the processor, such as <c>aarch64</c>.</param>
    /// <param name="givenPath">The path the user set, or empty to search.</param>
    /// <param name="directories">Where to search.</param>
    /// <exception cref="DtvException">DTV4001, DTV4002 or DTV4003.</exception>
    public static string Resolve(string qemuName, string givenPath,
        IReadOnlyList<string> directories)
    {
        if (givenPath.Length > 0)
        {
            return CheckGiven(givenPath);
        }

        var candidates = directories
            .SelectMany(d => new[]
            {
                Path.Combine(d, $"qemu-{qemuName}-static"),
                Path.Combine(d, $"qemu-{qemuName}"),
            })
            .ToList();
        var found = candidates.Where(File.Exists).ToList();
        var usable = found.FirstOrDefault(IsStaticallyLinked);
        if (usable is not null)
        {
            return usable;
        }

        if (found.Count > 0)
        {
            throw new DtvException("QemuInterpreterNotStatic", found[0], Package);
        }

        throw new DtvException("QemuMissing", qemuName, string.Join(", ", candidates), Package);
    }

    /// <summary>
    /// Whether the file is an ELF program without a dynamic loader (static, or static-pie).
    /// Anything that is not ELF, such as a script, counts as not static.
    /// </summary>
    public static bool IsStaticallyLinked(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            Span<byte> header = stackalloc byte[64];
            if (RandomAccess.Read(handle, header, 0) < 52 || !header[..4].SequenceEqual(s_elf))
            {
                return false;
            }

            // Offsets of the program header table and its entry size and count differ
            // between 32-bit and 64-bit files.
            var is64 = header[4] == 2;
            var bigEndian = header[5] == 2;
            var tableOffset = is64
                ? (long)Read64(header[32..], bigEndian)
                : Read32(header[28..], bigEndian);
            var entrySize = Read16(header[(is64 ? 54 : 42)..], bigEndian);
            var entryCount = Read16(header[(is64 ? 56 : 44)..], bigEndian);
            if (entrySize < 4)
            {
                return false;
            }

            Span<byte> type = stackalloc byte[4];
            for (var i = 0; i < entryCount; i++)
            {
                if (RandomAccess.Read(handle, type, tableOffset + (i * entrySize)) < 4)
                {
                    return false;
                }

                if (Read32(type, bigEndian) == InterpreterSegment)
                {
                    return false;
                }
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string CheckGiven(string path)
    {
        // The register line separates fields with ':' and ends at a line break; the kernel
        // also wants an absolute path, since it resolves the interpreter outside any chroot.
        if (!Path.IsPathRooted(path) || path.IndexOfAny([':', '\n', '\r']) >= 0
            || !File.Exists(path))
        {
            throw new DtvException("QemuInterpreterInvalid", path);
        }

        if (!IsStaticallyLinked(path))
        {
            throw new DtvException("QemuInterpreterNotStatic", path, Package);
        }

        return path;
    }

    private static ushort Read16(ReadOnlySpan<byte> bytes, bool bigEndian) => bigEndian
        ? BinaryPrimitives.ReadUInt16BigEndian(bytes)
        : BinaryPrimitives.ReadUInt16LittleEndian(bytes);

    private static uint Read32(ReadOnlySpan<byte> bytes, bool bigEndian) => bigEndian
        ? BinaryPrimitives.ReadUInt32BigEndian(bytes)
        : BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    private static ulong Read64(ReadOnlySpan<byte> bytes, bool bigEndian) => bigEndian
        ? BinaryPrimitives.ReadUInt64BigEndian(bytes)
        : BinaryPrimitives.ReadUInt64LittleEndian(bytes);
}
