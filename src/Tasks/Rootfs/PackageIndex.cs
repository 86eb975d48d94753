using System.Text.RegularExpressions;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// The names of the packages the suite's archive offers, saved from apt's package lists
/// before trimming removes them, so that a missing library can be answered with the package
/// that most likely holds it. Debian names a shared library's package after its soname
/// (libfoo.so.1 in libfoo1, libfoo2.so.3 in libfoo2-3), with a t64 suffix where the 64-bit
/// time transition renamed it; that rule, not a file index, is what the guess rests on.
/// </summary>
public sealed partial class PackageIndex
{
    /// <summary>The file, beside a cached root filesystem, that holds the names.</summary>
    public const string FileName = "available-packages.txt";

    private readonly HashSet<string> _names;

    private PackageIndex(IEnumerable<string> names) =>
        _names = new HashSet<string>(names, StringComparer.Ordinal);

    /// <summary>An index of the given names.</summary>
    public static PackageIndex Of(IEnumerable<string> names) => new(names);

    /// <summary>Reads a saved index; a missing file gives an empty one.</summary>
    public static PackageIndex Load(string path) =>
        new(File.Exists(path) ? File.ReadLines(path).Where(l => l.Length > 0) : []);

    /// <summary>
    /// Saves the package names from apt's lists in the root filesystem to a file; returns the
    /// number of names, 0 when the root filesystem has no lists.
    /// </summary>
    public static int Save(string root, string path)
    {
        var lists = Path.Combine(root, "var/lib/apt/lists");
        if (!Directory.Exists(lists))
        {
            return 0;
        }

        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(lists, "*_Packages"))
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith("Package: ", StringComparison.Ordinal))
                {
                    names.Add(line[9..].Trim());
                }
            }
        }

        if (names.Count > 0)
        {
            File.WriteAllLines(path, names);
        }

        return names.Count;
    }

    /// <summary>The packages of the archive that probably hold a library, best first.</summary>
    public IReadOnlyList<string> Guess(string soname)
    {
        var match = SonamePattern().Match(soname);
        if (!match.Success)
        {
            return [];
        }

        var stem = match.Groups["stem"].Value.ToLowerInvariant().Replace('_', '-');
        var version = match.Groups["version"].Value;
        var candidates = new List<string>();
        if (version.Length > 0)
        {
            var joined = char.IsAsciiDigit(stem[^1]) ? $"{stem}-{version}" : stem + version;
            candidates.AddRange([joined, joined + "t64"]);
        }

        candidates.Add(stem);

        // ICU's libraries (libicuuc.so.76) all come in one package named after its version.
        if (stem.StartsWith("libicu", StringComparison.Ordinal) && version.Length > 0)
        {
            candidates.Add("libicu" + version);
        }

        return [.. candidates.Where(_names.Contains).Distinct()];
    }

    /// <summary>The newest ICU package the archive has (libicuNN), or null.</summary>
    public string? NewestIcu() => _names
        .Where(n => IcuPattern().IsMatch(n))
        .OrderByDescending(n => int.Parse(n[6..], System.Globalization.CultureInfo.InvariantCulture))
        .FirstOrDefault();

    [GeneratedRegex(@"^(?<stem>[A-Za-z0-9_+.-]+?)\.so(?:\.(?<version>\d+))?(?:\.[\d.]+)?$")]
    private static partial Regex SonamePattern();

    [GeneratedRegex(@"^libicu\d+$")]
    private static partial Regex IcuPattern();
}
