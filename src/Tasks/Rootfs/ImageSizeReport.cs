using System.Globalization;
using System.Text;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>One line of a size table: what, and how many bytes.</summary>
/// <param name="Name">A package, a directory or a file.</param>
/// <param name="Bytes">Its size in bytes.</param>
public sealed record SizeEntry(string Name, long Bytes);

/// <summary>
/// Where the bytes of an app image go: the base (its largest packages and directories, and
/// what trimming took away from the full root filesystem) and the app's layer. Sizes are the
/// apparent sizes of regular files, uncompressed, as Docker counts them; MB are 10^6 bytes.
/// </summary>
public sealed class ImageSizeReport
{
    // The container runtime mounts its own over these; their content is not in the image.
    private static readonly string[] s_runtimeMounts = ["/dev/", "/proc/", "/sys/", "/run/"];

    private ImageSizeReport()
    {
    }

    /// <summary>The trim level the base was made with.</summary>
    public string TrimLevel { get; private init; } = string.Empty;

    /// <summary>The bytes of the base as imported.</summary>
    public long BaseBytes { get; private init; }

    /// <summary>The bytes of the full (customised and trimmed) root filesystem.</summary>
    public long FullBytes { get; private init; }

    /// <summary>The bytes the trim of the full root filesystem removed, when recorded.</summary>
    public long? SlimRemovedBytes { get; private init; }

    /// <summary>The bytes of the published app.</summary>
    public long AppBytes { get; private init; }

    /// <summary>Bytes per package of the base, largest first; unowned files under "(none)".</summary>
    public IReadOnlyList<SizeEntry> Packages { get; private init; } = [];

    /// <summary>Bytes per directory of the base (three levels deep), largest first.</summary>
    public IReadOnlyList<SizeEntry> Directories { get; private init; } = [];

    /// <summary>The largest files of the app, largest first.</summary>
    public IReadOnlyList<SizeEntry> AppFiles { get; private init; } = [];

    /// <summary>The bytes an app-level derivation left out of the full root filesystem.</summary>
    public long DerivedRemovedBytes => Math.Max(0, FullBytes - BaseBytes);

    /// <summary>The image's bytes: base and app layer.</summary>
    public long ImageBytes => BaseBytes + AppBytes;

    /// <summary>Measures the base, the full root filesystem it came from and the app.</summary>
    /// <param name="fullRoot">The cached full root filesystem.</param>
    /// <param name="baseRoot">
    /// The root filesystem imported as the base (the full one for none and slim).
    /// </param>
    /// <param name="trimLevel">The trim level.</param>
    /// <param name="publishDirectory">The folder the app was published to.</param>
    /// <param name="slimRemovedBytes">What trimming the full root filesystem removed, if known.</param>
    public static ImageSizeReport Measure(string fullRoot, string baseRoot, string trimLevel,
        string publishDirectory, long? slimRemovedBytes)
    {
        var full = new ImageRoot(fullRoot);
        var image = new ImageRoot(baseRoot);
        var database = DpkgDatabase.Read(full);
        var packages = new Dictionary<string, long>(StringComparer.Ordinal);
        var directories = new Dictionary<string, long>(StringComparer.Ordinal);
        var baseBytes = 0L;
        foreach (var (path, bytes) in Files(image))
        {
            baseBytes += bytes;
            var owner = database.OwnerOf(path) ?? "(none)";
            packages[owner] = packages.GetValueOrDefault(owner) + bytes;
            var directory = string.Join('/', ImageRoot.Parent(path).Split('/').Take(4));
            directory = directory.Length == 0 ? "/" : directory;
            directories[directory] = directories.GetValueOrDefault(directory) + bytes;
        }

        var fullBytes = fullRoot == baseRoot ? baseBytes : Files(full).Sum(f => f.Bytes);
        var publish = Path.GetFullPath(publishDirectory);
        var appFiles = Directory.Exists(publish)
            ? new DirectoryInfo(publish).EnumerateFiles("*", SearchOption.AllDirectories)
                .Where(f => f.LinkTarget is null)
                .Select(f => new SizeEntry(Path.GetRelativePath(publish, f.FullName), f.Length))
                .ToList()
            : [];

        return new ImageSizeReport
        {
            TrimLevel = trimLevel,
            BaseBytes = baseBytes,
            FullBytes = fullBytes,
            SlimRemovedBytes = slimRemovedBytes,
            AppBytes = appFiles.Sum(f => f.Bytes),
            Packages = Largest(packages),
            Directories = Largest(directories),
            AppFiles = [.. appFiles.OrderByDescending(f => f.Bytes).ThenBy(f => f.Name,
                StringComparer.Ordinal)],
        };
    }

    /// <summary>The few lines for the build log.</summary>
    public IReadOnlyList<string> Summary()
    {
        var removed = new List<string>();
        if (TrimLevel == "app")
        {
            removed.Add($"{Mb(DerivedRemovedBytes)} MB by app");
        }

        if (SlimRemovedBytes is { } slim && TrimLevel != "none")
        {
            removed.Add($"{Mb(slim)} MB by slim");
        }

        var lines = new List<string>
        {
            Row($"base ({TrimLevel})", BaseBytes, Share(BaseBytes)),
            Row("app layer (publish folder)", AppBytes, Share(AppBytes)),
            Row("image", ImageBytes, string.Empty),
        };
        if (removed.Count > 0)
        {
            lines.Add("  trimmed away: " + string.Join(", ", removed));
        }

        lines.Add("  largest packages: " + string.Join(", ", Packages.Take(5)
            .Select(p => $"{p.Name} {Mb(p.Bytes)}")));
        return lines;
    }

    /// <summary>The full report as Markdown.</summary>
    public string ToMarkdown(string image)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# Size of {image}\n\n");
        text.Append("Uncompressed sizes of regular files, as Docker counts them; ")
            .Append("MB = 10^6 bytes.\n\n");
        text.Append("| Part | MB | Share |\n| --- | ---: | ---: |\n");
        text.Append(CultureInfo.InvariantCulture,
            $"| base, trim level `{TrimLevel}` | {Mb(BaseBytes)} | {Share(BaseBytes)} |\n");
        text.Append(CultureInfo.InvariantCulture,
            $"| app layer (publish folder) | {Mb(AppBytes)} | {Share(AppBytes)} |\n");
        text.Append(CultureInfo.InvariantCulture, $"| image | {Mb(ImageBytes)} | |\n\n");

        text.Append("## Trimming\n\n| Step | MB |\n| --- | ---: |\n");
        if (SlimRemovedBytes is { } slim)
        {
            var step = TrimLevel == "none" ? "none" : "slim";
            text.Append(CultureInfo.InvariantCulture,
                $"| removed from the customised root filesystem (`{step}`) | {Mb(slim)} |\n");
        }

        text.Append(CultureInfo.InvariantCulture,
            $"| full root filesystem in the cache | {Mb(FullBytes)} |\n");
        if (TrimLevel == "app")
        {
            text.Append(CultureInfo.InvariantCulture,
                $"| left out by `app` (not needed by this app) | {Mb(DerivedRemovedBytes)} |\n");
        }

        Table(text, "Packages of the base", "Package", Packages);
        Table(text, "Largest directories of the base", "Directory", Directories.Take(15));
        Table(text, "Largest files of the app", "File", AppFiles.Take(15));
        return text.ToString();
    }

    private static void Table(StringBuilder text, string title, string what,
        IEnumerable<SizeEntry> entries)
    {
        text.Append(CultureInfo.InvariantCulture,
            $"\n## {title}\n\n| {what} | MB |\n| --- | ---: |\n");
        foreach (var entry in entries)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {entry.Name} | {Mb(entry.Bytes)} |\n");
        }
    }

    private string Share(long bytes) => ImageBytes == 0
        ? string.Empty
        : (bytes * 100.0 / ImageBytes).ToString("0", CultureInfo.InvariantCulture) + " %";

    private static string Row(string name, long bytes, string share) =>
        string.Format(CultureInfo.InvariantCulture, "  {0,-28} {1,8} MB {2,6}", name, Mb(bytes),
            share);

    /// <summary>Bytes as megabytes (10^6) with one decimal.</summary>
    public static string Mb(long bytes) =>
        (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture);

    private static List<SizeEntry> Largest(Dictionary<string, long> sizes) =>
        [.. sizes.Select(p => new SizeEntry(p.Key, p.Value))
            .OrderByDescending(e => e.Bytes).ThenBy(e => e.Name, StringComparer.Ordinal)];

    private static IEnumerable<(string Path, long Bytes)> Files(ImageRoot root)
    {
        foreach (var path in root.EnumerateTree("/"))
        {
            if (s_runtimeMounts.Any(m => path.StartsWith(m, StringComparison.Ordinal)))
            {
                continue;
            }

            var info = new FileInfo(root.HostPath(path));
            if (info.Exists && info.LinkTarget is null)
            {
                yield return (path, info.Length);
            }
        }
    }
}
