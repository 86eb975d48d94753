using System.Globalization;
using System.Text;

namespace DockerToVms.Tasks.Tests.Qemu;

/// <summary>
/// A plain temporary folder laid out like a mounted binfmt_misc: a <c>register</c> file and
/// one file per entry in the kernel's text format. <see cref="ActAsKernel"/> does what the
/// kernel would have done with what was written, so that a second run sees the result.
/// </summary>
internal sealed class FakeBinfmtDirectory : IDisposable
{
    public FakeBinfmtDirectory(bool mounted = true)
    {
        Path = Directory.CreateTempSubdirectory("dtv-binfmt-").FullName;
        if (mounted)
        {
            File.WriteAllText(RegisterPath, string.Empty);
        }
    }

    public string Path { get; }

    public string RegisterPath => System.IO.Path.Combine(Path, "register");

    /// <summary>What was last written to <c>register</c>; empty if nothing.</summary>
    public string Registered => File.ReadAllText(RegisterPath);

    public string EntryPath(string name) => System.IO.Path.Combine(Path, name);

    public string? Entry(string name) =>
        File.Exists(EntryPath(name)) ? File.ReadAllText(EntryPath(name)) : null;

    public void AddEntry(string name, string status) =>
        File.WriteAllText(EntryPath(name), status);

    /// <summary>
    /// Removes entries that were sent <c>-1</c>, then turns a registration line into the
    /// entry file the kernel would show, and empties <c>register</c>.
    /// </summary>
    public void ActAsKernel()
    {
        foreach (var file in Directory.EnumerateFiles(Path))
        {
            if (File.ReadAllText(file).Trim() == "-1")
            {
                File.Delete(file);
            }
        }

        var line = Registered.TrimEnd('\n');
        if (line.Length == 0)
        {
            return;
        }

        // :name:type:offset:magic:mask:interpreter:flags
        var fields = line.Split(line[0]);
        var magic = Unescape(fields[4]);
        var mask = fields[5].Length > 0 ? Unescape(fields[5]) : null;
        var flags = fields[7];
        var shown = new StringBuilder();
        foreach (var letter in "POCF")
        {
            if (flags.Contains(letter) || (letter == 'O' && flags.Contains('C')))
            {
                shown.Append(letter);
            }
        }

        var status = new StringBuilder()
            .Append("enabled\n")
            .Append("interpreter ").Append(fields[6]).Append('\n')
            .Append("flags: ").Append(shown).Append('\n')
            .Append("offset ").Append(fields[3].Length > 0 ? fields[3] : "0").Append('\n')
            .Append("magic ").Append(Convert.ToHexStringLower(magic)).Append('\n');
        if (mask is not null)
        {
            status.Append("mask ").Append(Convert.ToHexStringLower(mask)).Append('\n');
        }

        File.WriteAllText(EntryPath(fields[1]), status.ToString());
        File.WriteAllText(RegisterPath, string.Empty);
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);

    private static byte[] Unescape(string escaped)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < escaped.Length; i++)
        {
            if (escaped[i] == '\\' && i + 3 < escaped.Length && escaped[i + 1] == 'x')
            {
                bytes.Add(byte.Parse(escaped.AsSpan(i + 2, 2), NumberStyles.HexNumber,
                    CultureInfo.InvariantCulture));
                i += 3;
            }
            else
            {
                bytes.Add((byte)escaped[i]);
            }
        }

        return [.. bytes];
    }
}
