using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Recipe;

/// <summary>A file copied into the root filesystem before the RUN commands.</summary>
/// <param name="Source">The file on the build machine.</param>
/// <param name="Destination">The absolute path inside the root filesystem.</param>
/// <param name="Mode">The octal permission bits, such as <c>0644</c>.</param>
public sealed record RecipeFile(string Source, string Destination, string Mode)
{
    /// <summary>
    /// Reads and checks a BaseImageFile item: <c>Destination</c> an absolute path in the image,
    /// the source an existing file, <c>Mode</c> octal permissions (0644 when absent).
    /// </summary>
    public static RecipeFile FromItem(ITaskItem item)
    {
        var destination = item.GetMetadata(ChrootExecTask.DestinationMetadata);
        if (destination.Length == 0)
        {
            throw new DtvException("FileDestinationMissing", item.ItemSpec);
        }

        RecipeValidation.PathInImage(destination, "BaseImageFile");
        var source = item.GetMetadata("FullPath");
        if (!File.Exists(source))
        {
            throw new DtvException("FileSourceMissing", item.ItemSpec);
        }

        var mode = item.GetMetadata(ChrootExecTask.ModeMetadata);
        RecipeValidation.FileMode(mode, item.ItemSpec);
        return new RecipeFile(source, destination, mode.Length > 0 ? mode : "0644");
    }
}

/// <summary>
/// Everything that decides the content of a base root filesystem. Two builds with equal
/// recipes may share one cached root filesystem; any change gives a new digest.
/// </summary>
public sealed record BaseRecipe
{
    /// <summary>
    /// Bumped whenever the way a recipe becomes a root filesystem changes, so that caches
    /// made by an older version of this library are not reused.
    /// </summary>
    public const int FormatVersion = 1;

    /// <summary>The distribution's suite or codename, such as <c>trixie</c>.</summary>
    public required string Suite { get; init; }

    /// <summary>The package mirror bootstrapped from.</summary>
    public required string Mirror { get; init; }

    /// <summary>The debootstrap variant, such as <c>minbase</c>.</summary>
    public required string Variant { get; init; }

    /// <summary>The Debian architecture, such as <c>amd64</c>.</summary>
    public required string Architecture { get; init; }

    /// <summary>The archive components, such as <c>main</c>.</summary>
    public IReadOnlyList<string> Components { get; init; } = ["main"];

    /// <summary>The keyring the archive is checked with; empty for debootstrap's default.</summary>
    public string Keyring { get; init; } = string.Empty;

    /// <summary>Packages debootstrap is told to leave out.</summary>
    public IReadOnlyList<string> ExcludedPackages { get; init; } = [];

    /// <summary>Packages installed with apt after the bootstrap.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>Files copied in, in order.</summary>
    public IReadOnlyList<RecipeFile> Files { get; init; } = [];

    /// <summary>Shell commands run in the root filesystem, in order (a Dockerfile's RUN).</summary>
    public IReadOnlyList<string> Runs { get; init; } = [];

    /// <summary>A non-root user to create, or empty for none.</summary>
    public string User { get; init; } = string.Empty;

    /// <summary>How much is trimmed: <c>none</c>, <c>slim</c> or <c>app</c>.</summary>
    public string Trim { get; init; } = "slim";

    /// <summary>Whether the archive is installed without checking its signatures.</summary>
    public bool AllowUnsigned { get; init; }

    /// <summary>The user's numeric id.</summary>
    public int UserId { get; init; } = 1654;

    /// <summary>
    /// The id of the image the base starts from (BaseImageFrom) instead of a bootstrap, such
    /// as <c>sha256:...</c>; empty for a bootstrapped base.
    /// </summary>
    public string SourceImage { get; init; } = string.Empty;

    /// <summary>
    /// The canonical text the digest is taken over: stable JSON with each copied file
    /// represented by the SHA-256 of its content, so an edit to a file changes the digest.
    /// </summary>
    public string ToCanonicalJson()
    {
        var document = new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["format"] = FormatVersion,
            ["suite"] = Suite,
            ["mirror"] = Mirror.TrimEnd('/'),
            ["variant"] = Variant,
            ["architecture"] = Architecture,
            ["components"] = Components,
            ["keyring"] = Keyring.Length == 0 ? string.Empty : HashFile(Keyring),
            ["exclude"] = ExcludedPackages.Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal).ToArray(),
            ["packages"] = Packages.Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal).ToArray(),
            ["files"] = Files.Select(f => new[] { f.Destination, f.Mode, HashFile(f.Source) })
                .ToArray(),
            ["runs"] = Runs,
            ["user"] = User.Length == 0 ? string.Empty : $"{User}:{UserId}",
            // An app-level base is derived after publish from the slim root filesystem, so
            // both levels share one cache entry and switching between them bootstraps nothing.
            ["trim"] = Trim == "app" ? "slim" : Trim,
        };

        // Present only when set, so the digests of every signed recipe stay as they were.
        if (AllowUnsigned)
        {
            document["unsigned"] = true;
        }

        // Also present only when set: a base from another image is that image's files.
        if (SourceImage.Length > 0)
        {
            document["from"] = SourceImage;
        }

        return JsonSerializer.Serialize(document);
    }

    /// <summary>The SHA-256 of the canonical text, as lower-case hex.</summary>
    public string ComputeDigest() =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(ToCanonicalJson())))
            .ToLowerInvariant();

    private static string HashFile(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
        }
        catch (UnauthorizedAccessException)
        {
            throw new DtvException("FileToCopyUnreadable", path, Environment.UserName);
        }
    }
}
