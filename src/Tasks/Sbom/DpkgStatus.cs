namespace DockerToVms.Tasks.Sbom;

/// <summary>An installed Debian package as the package database records it.</summary>
/// <param name="Name">The package name.</param>
/// <param name="Version">The version, with its epoch when it has one.</param>
/// <param name="Architecture">The architecture, such as <c>amd64</c> or <c>all</c>.</param>
/// <param name="Source">The source package's name; the binary's own when not given.</param>
/// <param name="SourceVersion">The source package's version; the binary's when not given.</param>
public sealed record DebianPackage(string Name, string Version, string Architecture,
    string Source, string SourceVersion);

/// <summary>
/// Reads the installed packages of a root filesystem from its dpkg database, the way
/// scanners do: <c>/var/lib/dpkg/status</c>, plus any files in <c>/var/lib/dpkg/status.d/</c>
/// (the layout of images that keep one small file a package). Only packages whose status is
/// <c>installed</c> count; a stanza without a status (status.d) counts as installed.
/// </summary>
public static class DpkgStatus
{
    /// <summary>The status file's place in the image.</summary>
    public const string StatusFile = "var/lib/dpkg/status";

    /// <summary>The folder of per-package status files in the image.</summary>
    public const string StatusDirectory = "var/lib/dpkg/status.d";

    /// <summary>Whether the root filesystem has a package database scanners can read.</summary>
    public static bool Exists(string root) =>
        File.Exists(Path.Combine(root, StatusFile)) || Directory.Exists(Path.Combine(root, StatusDirectory));

    /// <summary>The installed packages, ordered by name and architecture.</summary>
    public static IReadOnlyList<DebianPackage> Read(string root)
    {
        var texts = new List<string>();
        var status = Path.Combine(root, StatusFile);
        if (File.Exists(status))
        {
            texts.Add(File.ReadAllText(status));
        }

        var folder = Path.Combine(root, StatusDirectory);
        if (Directory.Exists(folder))
        {
            texts.AddRange(Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal)
                .Select(File.ReadAllText));
        }

        return [.. texts.SelectMany(Parse)
            .DistinctBy(p => (p.Name, p.Architecture))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Architecture, StringComparer.Ordinal)];
    }

    /// <summary>The installed packages of one status text.</summary>
    public static IEnumerable<DebianPackage> Parse(string text)
    {
        foreach (var stanza in Stanzas(text))
        {
            if (!stanza.TryGetValue("Package", out var name)
                || !stanza.TryGetValue("Version", out var version))
            {
                continue;
            }

            // "install ok installed": the last word is the state; half-installed,
            // config-files and not-installed packages are not in the image.
            if (stanza.TryGetValue("Status", out var state)
                && !state.EndsWith(" installed", StringComparison.Ordinal))
            {
                continue;
            }

            var (source, sourceVersion) = (name, version);
            if (stanza.TryGetValue("Source", out var given))
            {
                // "Source: name (version)" when the source's version differs.
                var open = given.IndexOf('(', StringComparison.Ordinal);
                source = (open < 0 ? given : given[..open]).Trim();
                if (open >= 0)
                {
                    sourceVersion = given[(open + 1)..].TrimEnd(')', ' ');
                }
            }

            yield return new DebianPackage(name, version,
                stanza.GetValueOrDefault("Architecture", string.Empty), source, sourceVersion);
        }
    }

    // Stanzas are separated by blank lines; a line starting with white space continues the
    // field before it, which only long descriptions and file lists use.
    private static IEnumerable<Dictionary<string, string>> Stanzas(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (line.Trim().Length == 0)
            {
                if (fields.Count > 0)
                {
                    yield return fields;
                    fields = new Dictionary<string, string>(StringComparer.Ordinal);
                }

                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (line[0] is ' ' or '\t' || colon <= 0)
            {
                continue;
            }

            fields[line[..colon]] = line[(colon + 1)..].Trim();
        }

        if (fields.Count > 0)
        {
            yield return fields;
        }
    }
}
