using System.Text;

namespace DockerToVms.Tasks.Chroot;

/// <summary>Reads the machine's mounts, to find and undo any left under a root filesystem.</summary>
public static class MountTable
{
    /// <summary>Mount points at or below the directory, deepest first.</summary>
    public static IReadOnlyList<string> Below(string directory)
    {
        var root = Path.GetFullPath(directory).TrimEnd('/');
        if (!File.Exists("/proc/self/mountinfo"))
        {
            return [];
        }

        return File.ReadLines("/proc/self/mountinfo")
            .Select(line => Unescape(line.Split(' ')[4]))
            .Where(point => point == root || point.StartsWith(root + "/", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(point => point.Length)
            .ToList();
    }

    // mountinfo writes space, tab, newline and backslash in paths as \ooo octal escapes.
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new StringBuilder();
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length)
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }
}
