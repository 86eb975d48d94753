namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// The package database of a Debian root filesystem, read without dpkg: which package each
/// file came from (the <c>info/*.list</c> files) and each package's entry in
/// <c>/var/lib/dpkg/status</c>. Paths are looked up by where they really are, so a file
/// listed under <c>/lib</c> is found under <c>/usr/lib</c> on a merged-/usr system.
/// </summary>
public sealed class DpkgDatabase
{
    /// <summary>The status file, as the image sees it.</summary>
    public const string StatusPath = "/var/lib/dpkg/status";

    private const string InfoPath = "/var/lib/dpkg/info";

    private readonly Dictionary<string, string> _owners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _files = new(StringComparer.Ordinal);
    private readonly List<(string Package, string Stanza)> _stanzas = [];

    private DpkgDatabase()
    {
    }

    /// <summary>The installed packages, by name, in the order of the status file.</summary>
    public IEnumerable<string> Packages => _stanzas.Select(s => s.Package).Distinct();

    /// <summary>Reads the database; a root filesystem without one gives an empty database.</summary>
    public static DpkgDatabase Read(ImageRoot root)
    {
        var database = new DpkgDatabase();
        var status = root.HostPath(StatusPath);
        if (File.Exists(status))
        {
            foreach (var stanza in File.ReadAllText(status).Split("\n\n",
                StringSplitOptions.RemoveEmptyEntries))
            {
                var name = Field(stanza, "Package");
                if (name is not null)
                {
                    database._stanzas.Add((name, stanza.Trim('\n')));
                }
            }
        }

        var info = root.HostPath(InfoPath);
        if (!Directory.Exists(info))
        {
            return database;
        }

        var directories = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var list in Directory.EnumerateFiles(info, "*.list").Order(StringComparer.Ordinal))
        {
            // Multi-Arch: same packages name their list after package and architecture.
            var package = Path.GetFileNameWithoutExtension(list).Split(':')[0];
            var files = new List<string>();
            foreach (var line in File.ReadLines(list))
            {
                if (line.Length < 2 || line[0] != '/')
                {
                    continue;
                }

                files.Add(line);

                // Directories are shared by many packages; only files and links have an owner.
                var real = RealLocation(root, line, directories);
                if (real is not null && !directories.ContainsKey(line)
                    && !root.IsDirectory(real))
                {
                    database._owners.TryAdd(real, package);
                }
            }

            database._files[package] = files;
        }

        return database;
    }

    /// <summary>The package a path (given where it really is) came from, or null.</summary>
    public string? OwnerOf(string imagePath) =>
        _owners.TryGetValue(imagePath, out var package) ? package : null;

    /// <summary>Whether the package is installed (has a file list).</summary>
    public bool Has(string package) => _files.ContainsKey(package);

    /// <summary>The paths a package installed, as its file list names them.</summary>
    public IReadOnlyList<string> FilesOf(string package) =>
        _files.TryGetValue(package, out var files) ? files : [];

    /// <summary>
    /// A status file listing only the given packages, in the original order, so scanners
    /// that read the package database of an image find what the image holds.
    /// </summary>
    public string StatusFor(IReadOnlySet<string> packages)
    {
        var kept = _stanzas.Where(s => packages.Contains(s.Package)).Select(s => s.Stanza);
        var text = string.Join("\n\n", kept);
        return text.Length == 0 ? string.Empty : text + "\n";
    }

    /// <summary>The installed size in bytes the status file gives for each package.</summary>
    public IReadOnlyDictionary<string, long> InstalledSizes()
    {
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (package, stanza) in _stanzas)
        {
            if (long.TryParse(Field(stanza, "Installed-Size"), out var kibibytes))
            {
                sizes[package] = sizes.GetValueOrDefault(package) + kibibytes * 1024;
            }
        }

        return sizes;
    }

    private static string? Field(string stanza, string name)
    {
        foreach (var line in stanza.Split('\n'))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return line[(name.Length + 1)..].Trim();
            }
        }

        return null;
    }

    // The directory part is resolved through links (cached, since lists share directories);
    // the last part is kept as it is, so a listed link stays that link.
    private static string? RealLocation(ImageRoot root, string listed,
        Dictionary<string, string?> directories)
    {
        var parent = ImageRoot.Parent(listed);
        if (!directories.TryGetValue(parent, out var real))
        {
            real = root.Resolve(parent, new List<string>());
            directories[parent] = real;
        }

        return real is null ? null : ImageRoot.Join(real, listed[(listed.LastIndexOf('/') + 1)..]);
    }
}
