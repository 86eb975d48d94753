using System.Globalization;
using System.Text;

namespace DockerToVms.Tasks.Qemu;

/// <summary>The flags of a binfmt_misc entry (the kernel's letters P, O, C and F).</summary>
[Flags]
public enum BinfmtOptions
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary><c>P</c>: the interpreter receives the program's original argv[0].</summary>
    PreserveArgv0 = 1,

    /// <summary><c>O</c>: the kernel opens the program and passes its descriptor.</summary>
    OpenBinary = 2,

    /// <summary><c>C</c>: credentials come from the program; set-user-ID works.</summary>
    Credentials = 4,

    /// <summary>
    /// <c>F</c>: the kernel opens the interpreter once, at registration, so a root filesystem
    /// of another architecture needs no copy of it.
    /// </summary>
    FixBinary = 8,
}

/// <summary>
/// One binfmt_misc entry that recognises programs by magic bytes: what a file under
/// /proc/sys/fs/binfmt_misc shows, and what is written to its <c>register</c> file.
/// </summary>
public sealed class BinfmtEntry
{
    // The kernel prints and parses flags in this order.
    private static readonly (char Letter, BinfmtOptions Flag)[] s_letters =
    [
        ('P', BinfmtOptions.PreserveArgv0),
        ('O', BinfmtOptions.OpenBinary),
        ('C', BinfmtOptions.Credentials),
        ('F', BinfmtOptions.FixBinary),
    ];

    /// <summary>Creates an entry.</summary>
    /// <param name="name">The entry's file name, such as <c>qemu-aarch64</c>.</param>
    /// <param name="interpreter">The absolute path of the program that runs matching files.</param>
    /// <param name="offset">Where in the file the magic bytes start.</param>
    /// <param name="magic">The bytes a matching file has at the offset.</param>
    /// <param name="mask">Which bits of the magic count; null when all of them do.</param>
    /// <param name="flags">The entry's flags.</param>
    public BinfmtEntry(string name, string interpreter, int offset, byte[] magic, byte[]? mask,
        BinfmtOptions flags)
    {
        if (mask is not null && mask.Length != magic.Length)
        {
            throw new ArgumentException("The mask must be as long as the magic.", nameof(mask));
        }

        Name = name;
        Interpreter = interpreter;
        Offset = offset;
        Magic = magic;
        Mask = mask;
        Flags = flags;
    }

    /// <summary>The entry's file name, such as <c>qemu-aarch64</c>.</summary>
    public string Name { get; }

    /// <summary>The absolute path of the program that runs matching files.</summary>
    public string Interpreter { get; }

    /// <summary>Where in the file the magic bytes start.</summary>
    public int Offset { get; }

    /// <summary>The bytes a matching file has at the offset.</summary>
    public IReadOnlyList<byte> Magic { get; }

    /// <summary>Which bits of the magic count; null when all of them do.</summary>
    public IReadOnlyList<byte>? Mask { get; }

    /// <summary>The flags as given.</summary>
    public BinfmtOptions Flags { get; }

    /// <summary>Whether the kernel uses the entry; a disabled one is kept but ignored.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// For an entry that matches by file name extension instead of magic bytes, the
    /// extension; this library registers no such entries, but reads and restores them.
    /// </summary>
    public string? Extension { get; init; }

    /// <summary>The flags in effect: the kernel adds <c>O</c> whenever <c>C</c> is set.</summary>
    public BinfmtOptions EffectiveFlags => Flags.HasFlag(BinfmtOptions.Credentials)
        ? Flags | BinfmtOptions.OpenBinary
        : Flags;

    /// <summary>The flags as the kernel's letters, for example <c>OCF</c>.</summary>
    public static string Letters(BinfmtOptions flags) =>
        new([.. s_letters.Where(l => flags.HasFlag(l.Flag)).Select(l => l.Letter)]);

    /// <summary>
    /// Reads an entry from the text the kernel shows in its file: <c>enabled</c> or
    /// <c>disabled</c>, then lines such as <c>interpreter /usr/bin/qemu-aarch64-static</c>,
    /// <c>flags: OCF</c>, <c>offset 0</c>, <c>magic 7f454c46...</c> and <c>mask ffffff...</c>.
    /// Lines it does not know are skipped, so that a newer kernel's additions do no harm.
    /// </summary>
    /// <exception cref="FormatException">The text names no interpreter or has bad hex.</exception>
    public static BinfmtEntry Parse(string name, string status)
    {
        var enabled = true;
        var interpreter = string.Empty;
        var flags = BinfmtOptions.None;
        var offset = 0;
        byte[] magic = [];
        byte[]? mask = null;
        string? extension = null;

        foreach (var raw in status.Split('\n'))
        {
            var line = raw.Trim();
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var key = space < 0 ? line : line[..space];
            var value = space < 0 ? string.Empty : line[(space + 1)..].Trim();
            switch (key)
            {
                case "enabled":
                    enabled = true;
                    break;
                case "disabled":
                    enabled = false;
                    break;
                case "interpreter":
                    interpreter = value;
                    break;
                case "flags:":
                    flags = ParseLetters(value);
                    break;
                case "offset":
                    offset = int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
                    break;
                case "magic":
                    magic = Convert.FromHexString(value);
                    break;
                case "mask":
                    mask = Convert.FromHexString(value);
                    break;
                case "extension":
                    extension = value.TrimStart('.');
                    break;
            }
        }

        if (interpreter.Length == 0)
        {
            throw new FormatException($"The binfmt_misc entry '{name}' names no interpreter.");
        }

        if (mask is not null && mask.Length != magic.Length)
        {
            throw new FormatException($"The binfmt_misc entry '{name}' has a mask and a magic "
                + "of different lengths.");
        }

        return new BinfmtEntry(name, interpreter, offset, magic, mask, flags)
        {
            Enabled = enabled,
            Extension = extension,
        };
    }

    /// <summary>
    /// The line that registers this entry: <c>:name:M:offset:magic:mask:interpreter:flags</c>,
    /// with every magic and mask byte written as <c>\xNN</c> so that no byte can be taken
    /// for the ':' separator or end the line early. An entry read with an extension gives
    /// <c>:name:E::extension::interpreter:flags</c>, so that it can be put back.
    /// </summary>
    public string ToRegisterString()
    {
        if (Extension is not null)
        {
            return $":{Name}:E::{Extension}::{Interpreter}:{Letters(Flags)}";
        }

        var line = new StringBuilder();
        line.Append(':').Append(Name)
            .Append(":M:").Append(Offset.ToString(CultureInfo.InvariantCulture))
            .Append(':');
        AppendEscaped(line, Magic);
        line.Append(':');
        if (Mask is not null)
        {
            AppendEscaped(line, Mask);
        }

        line.Append(':').Append(Interpreter)
            .Append(':').Append(Letters(Flags));
        return line.ToString();
    }

    /// <summary>
    /// Whether both entries recognise exactly the same files: same offset, same mask and the
    /// same magic once masked. The kernel compares only the masked bits, so bits the mask
    /// clears may differ.
    /// </summary>
    public bool RecognisesSameFilesAs(BinfmtEntry other)
    {
        if (Extension is not null || other.Extension is not null)
        {
            return Extension is not null
                && string.Equals(Extension, other.Extension, StringComparison.Ordinal);
        }

        if (Offset != other.Offset || Magic.Count != other.Magic.Count)
        {
            return false;
        }

        for (var i = 0; i < Magic.Count; i++)
        {
            var mask = MaskAt(i);
            if (mask != other.MaskAt(i) || (Magic[i] & mask) != (other.Magic[i] & mask))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// What sets this entry apart from the wanted one, in words for a message; empty when
    /// the kernel would treat both alike.
    /// </summary>
    public IReadOnlyList<string> DifferencesFrom(BinfmtEntry wanted)
    {
        var differences = new List<string>();
        if (!Enabled)
        {
            differences.Add("it is disabled");
        }

        if (!string.Equals(Interpreter, wanted.Interpreter, StringComparison.Ordinal))
        {
            differences.Add($"its interpreter is '{Interpreter}', not '{wanted.Interpreter}'");
        }

        if (EffectiveFlags != wanted.EffectiveFlags)
        {
            differences.Add($"its flags are '{Letters(EffectiveFlags)}', "
                + $"not '{Letters(wanted.EffectiveFlags)}'");
        }

        if (!RecognisesSameFilesAs(wanted))
        {
            differences.Add(Extension is null
                ? "it recognises programs by other magic bytes"
                : $"it recognises files by the extension '.{Extension}'");
        }

        return differences;
    }

    /// <summary>A short description for messages: interpreter and flags.</summary>
    public override string ToString() =>
        $"interpreter {Interpreter}, flags {Letters(EffectiveFlags)}";

    private byte MaskAt(int index) => Mask is null ? (byte)0xff : Mask[index];

    private static BinfmtOptions ParseLetters(string letters)
    {
        var flags = BinfmtOptions.None;
        foreach (var (letter, flag) in s_letters)
        {
            if (letters.Contains(letter, StringComparison.Ordinal))
            {
                flags |= flag;
            }
        }

        return flags;
    }

    private static void AppendEscaped(StringBuilder line, IReadOnlyList<byte> bytes)
    {
        foreach (var b in bytes)
        {
            line.Append("\\x").Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }
    }
}
