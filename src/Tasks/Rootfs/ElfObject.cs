using System.Text;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// What the dynamic loader reads from an executable or shared library before it runs: the
/// libraries it needs, where it asks them to be looked for, and the loader it names. Files
/// that are not ELF, or carry no dynamic section (static programs, detached debug symbols),
/// give no object.
/// </summary>
/// <param name="Machine">The processor the file is for.</param>
/// <param name="Is64Bit">Whether the file is a 64-bit ELF file.</param>
/// <param name="Needed">The DT_NEEDED names, in order.</param>
/// <param name="RunPath">The DT_RUNPATH directories, in order.</param>
/// <param name="RPath">The DT_RPATH directories, in order (ignored when RunPath is set).</param>
/// <param name="Interpreter">The loader the file names (PT_INTERP), or null.</param>
public sealed record ElfObject(Machine Machine, bool Is64Bit, IReadOnlyList<string> Needed,
    IReadOnlyList<string> RunPath, IReadOnlyList<string> RPath, string? Interpreter)
{
    /// <summary>
    /// Where the ELF file's own content ends: the end of its last section or segment. A .NET
    /// single-file app keeps its bundle of assemblies after that point.
    /// </summary>
    public long ContentLength { get; init; }

    private static readonly byte[] s_magic = [0x7f, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>Whether the file starts like an ELF file; cheap, so most files skip parsing.</summary>
    public static bool HasElfMagic(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read,
                FileShare.Read, 1);
            Span<byte> head = stackalloc byte[4];
            return stream.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4
                && head.SequenceEqual(s_magic);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The machine and class of any ELF file, or null when it is not one.</summary>
    public static (Machine Machine, bool Is64Bit)? ReadMachine(string path)
    {
        if (!HasElfMagic(path) || !ELFReader.TryLoad(path, out var elf))
        {
            return null;
        }

        using (elf)
        {
            return (elf.Machine, elf.Class == Class.Bit64);
        }
    }

    /// <summary>Reads the file's dynamic linking, or returns null when it has none.</summary>
    public static ElfObject? TryRead(string path)
    {
        if (!HasElfMagic(path))
        {
            return null;
        }

        // A damaged or unusual file is not the build's concern: the loader would reject it
        // too, and a library it needed would show up when the app is verified.
        try
        {
            if (!ELFReader.TryLoad(path, out var elf))
            {
                return null;
            }

            using (elf)
            {
                return elf switch
                {
                    ELF<ulong> wide => Read(wide, is64Bit: true),
                    ELF<uint> narrow => Read(narrow, is64Bit: false),
                    _ => null,
                };
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException
            or IOException or EndOfStreamException or OverflowException
            or IndexOutOfRangeException or NotSupportedException)
        {
            return null;
        }
    }

    private static ElfObject? Read<T>(ELF<T> elf, bool is64Bit)
        where T : struct
    {
        var dynamic = elf.Sections.OfType<DynamicSection<T>>().FirstOrDefault();
        var strings = elf.Sections.OfType<StringTable<T>>()
            .FirstOrDefault(s => s.Name == ".dynstr");
        if (dynamic is null || strings is null)
        {
            return null;
        }

        var needed = new List<string>();
        var runPath = new List<string>();
        var rPath = new List<string>();
        foreach (var entry in dynamic.Entries)
        {
            var target = entry.Tag switch
            {
                DynamicTag.Needed => needed,
                DynamicTag.RunPath => runPath,
                DynamicTag.RPath => rPath,
                _ => null,
            };
            if (target is null)
            {
                continue;
            }

            var text = strings[Convert.ToInt64(entry.Value, null)];
            if (entry.Tag == DynamicTag.Needed)
            {
                target.Add(text);
            }
            else
            {
                target.AddRange(text.Split(':', StringSplitOptions.RemoveEmptyEntries));
            }
        }

        // Read from the section rather than the segment: in a file of detached debug symbols
        // the segment still exists but points at nothing.
        string? interpreter = null;
        if (elf.TryGetSection(".interp", out var interp) && interp.Type == SectionType.ProgBits)
        {
            interpreter = Encoding.ASCII.GetString(interp.GetContents()).TrimEnd('\0');
        }

        var sectionsEnd = elf.Sections.Where(s => s.Type != SectionType.NoBits)
            .Select(s => Convert.ToInt64(s.Offset, null) + Convert.ToInt64(s.Size, null))
            .DefaultIfEmpty(0).Max();
        var segmentsEnd = elf.Segments.Select(s => s.Offset + s.FileSize).DefaultIfEmpty(0).Max();
        return new ElfObject(elf.Machine, is64Bit, needed, runPath, rPath,
            string.IsNullOrEmpty(interpreter) ? null : interpreter)
        {
            ContentLength = Math.Max(sectionsEnd, segmentsEnd),
        };
    }
}
