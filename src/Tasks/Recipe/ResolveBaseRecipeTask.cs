using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Recipe;

/// <summary>
/// Turns the project's base image settings into a recipe, checks it, and names the cache
/// entry it belongs to by the recipe's digest. The recipe file is rewritten only when it
/// changes, so targets can use it as an input.
/// </summary>
public sealed class ResolveBaseRecipeTask : AsyncTask
{
    // What every self-contained .NET app needs from the system at run time. @libssl and
    // @libicu are resolved to the suite's package names inside the root filesystem.
    private static readonly string[] s_dotnetPackages =
        ["libc6", "libgcc-s1", "libstdc++6", "@libssl", "ca-certificates", "tzdata"];

    /// <summary>The suite or codename.</summary>
    [Required]
    public string Suite { get; set; } = string.Empty;

    /// <summary>The mirror's URL.</summary>
    [Required]
    public string Mirror { get; set; } = string.Empty;

    /// <summary>The debootstrap variant.</summary>
    public string Variant { get; set; } = "minbase";

    /// <summary>The archive components.</summary>
    public string[] Components { get; set; } = ["main"];

    /// <summary>A keyring to verify the archive with; empty for the default.</summary>
    public string Keyring { get; set; } = string.Empty;

    /// <summary>Whether the archive is installed without checking its signatures.</summary>
    public bool AllowUnsigned { get; set; }

    /// <summary>The id of the image the base starts from (BaseImageFrom); empty to bootstrap.</summary>
    public string SourceImage { get; set; } = string.Empty;

    /// <summary>The app's runtime identifier; decides the architecture.</summary>
    [Required]
    public string RuntimeIdentifier { get; set; } = string.Empty;

    /// <summary>Whether the app is published without culture data (no ICU needed).</summary>
    public bool InvariantGlobalization { get; set; }

    /// <summary>Whether to add the libraries a .NET app needs. Defaults to true.</summary>
    public bool IncludeDotNetDependencies { get; set; } = true;

    /// <summary>Packages to install (BaseImagePackage items).</summary>
    public ITaskItem[] Packages { get; set; } = [];

    /// <summary>Packages debootstrap leaves out (BaseImageExcludePackage items).</summary>
    public ITaskItem[] ExcludedPackages { get; set; } = [];

    /// <summary>Files to copy in (BaseImageFile items with Destination and Mode).</summary>
    public ITaskItem[] Files { get; set; } = [];

    /// <summary>Commands to run in order (BaseImageRun items).</summary>
    public ITaskItem[] Runs { get; set; } = [];

    /// <summary>The user the app runs as; a name other than root is created in the base.</summary>
    public string User { get; set; } = string.Empty;

    /// <summary>How much to trim: <c>none</c>, <c>slim</c> or <c>app</c>.</summary>
    public string Trim { get; set; } = "slim";

    /// <summary>The cache's directory.</summary>
    [Required]
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>The project's directory; the cache must lie outside it.</summary>
    public string ProjectDirectory { get; set; } = string.Empty;

    /// <summary>Where to write the recipe (in the project's intermediate folder).</summary>
    [Required]
    public string RecipeFile { get; set; } = string.Empty;

    /// <summary>The recipe's digest, lower-case hex SHA-256.</summary>
    [Output]
    public string Digest { get; private set; } = string.Empty;

    /// <summary>The Debian architecture of the base.</summary>
    [Output]
    public string Architecture { get; private set; } = string.Empty;

    /// <summary>The Debian architecture of the build machine.</summary>
    [Output]
    public string HostArchitecture { get; private set; } = DebianArchitecture.Host;

    /// <summary>The cache entry directory for the digest (it may not exist yet).</summary>
    [Output]
    public string CacheEntry { get; private set; } = string.Empty;

    /// <summary>The trim level, as the recipe writes it: <c>none</c>, <c>slim</c> or <c>app</c>.</summary>
    [Output]
    public string TrimLevel { get; private set; } = string.Empty;

    /// <summary>Whether the cache already has a complete entry for the digest.</summary>
    [Output]
    public bool Cached { get; private set; }

    /// <summary>The packages to install after the bootstrap, in order.</summary>
    [Output]
    public string[] InstallPackages { get; private set; } = [];

    /// <summary>The commands to run after installing, in order, account creation first.</summary>
    [Output]
    public ITaskItem[] Commands { get; private set; } = [];

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        var recipe = Build();
        Digest = recipe.ComputeDigest();
        Architecture = recipe.Architecture;
        TrimLevel = recipe.Trim;
        InstallPackages = [.. recipe.Packages];
        Commands = [.. CommandsOf(recipe).Select(c => new TaskItem("run",
            new Dictionary<string, string> { [ChrootExecTask.CommandMetadata] = c }))];

        CheckCacheOutsideProject();
        var cache = new RootfsCache(CacheDirectory);
        CacheEntry = cache.EntryFor(Digest);
        Cached = cache.Has(Digest);
        WriteIfChanged(RecipeFile, recipe.ToCanonicalJson());

        Log.LogMessageFromResources(MessageImportance.High, "RecipeWritten", Digest[..12],
            recipe.Suite, recipe.Architecture, recipe.Variant, CacheEntry);
        return System.Threading.Tasks.Task.CompletedTask;
    }

    /// <summary>Builds and checks the recipe from the task's parameters.</summary>
    internal BaseRecipe Build()
    {
        RecipeValidation.Suite(Suite);
        RecipeValidation.Mirror(Mirror);
        RecipeValidation.Components(Components);
        var architecture = RecipeValidation.RuntimeIdentifier(RuntimeIdentifier);
        RecipeValidation.User(User);
        if (Keyring.Length > 0 && !File.Exists(Keyring))
        {
            throw new DtvException("KeyringMissing", Keyring);
        }

        var extra = Packages.Select(p => p.ItemSpec).ToList();
        RecipeValidation.PackageNames(extra, "BaseImagePackage");
        var excluded = ExcludedPackages.Select(p => p.ItemSpec).ToList();
        RecipeValidation.PackageNames(excluded, "BaseImageExcludePackage");

        var packages = new List<string>();
        if (IncludeDotNetDependencies)
        {
            packages.AddRange(s_dotnetPackages);
            if (!InvariantGlobalization)
            {
                packages.Add("@libicu");
            }
        }

        packages.AddRange(extra);

        return new BaseRecipe
        {
            Suite = Suite,
            Mirror = Mirror,
            Variant = Variant,
            Architecture = architecture,
            Components = Components,
            Keyring = Keyring.Length == 0 ? string.Empty : Path.GetFullPath(Keyring),
            AllowUnsigned = AllowUnsigned,
            SourceImage = SourceImage,
            ExcludedPackages = excluded,
            Packages = [.. packages.Distinct(StringComparer.Ordinal)],
            Files = [.. Files.Select(Recipe.RecipeFile.FromItem)],
            Runs = [.. Runs.Select(ChrootExecTask.CommandOf)],
            User = RecipeValidation.NeedsAccount(User) ? User.Split(':')[0] : string.Empty,
            Trim = RootfsTrimmer.Parse(Trim).ToString().ToLowerInvariant(),
        };
    }

    /// <summary>The commands that realise the recipe's account and RUN steps.</summary>
    internal static IEnumerable<string> CommandsOf(BaseRecipe recipe)
    {
        if (recipe.User.Length > 0)
        {
            // The same uid and gid as Microsoft's .NET images, so volumes and file modes
            // prepared for those images work here too.
            yield return $"getent passwd {recipe.User} >/dev/null || "
                + $"{{ groupadd --gid {recipe.UserId} {recipe.User} && useradd --no-log-init "
                + $"--uid {recipe.UserId} --gid {recipe.UserId} --create-home "
                + $"--shell /usr/sbin/nologin {recipe.User}; }}";
        }

        foreach (var run in recipe.Runs)
        {
            yield return run;
        }
    }

    // The SDK's default item globs would take a root filesystem inside the project for
    // source files, and every later build of the project would break on them.
    private void CheckCacheOutsideProject()
    {
        if (ProjectDirectory.Length == 0)
        {
            return;
        }

        var cache = Path.GetFullPath(CacheDirectory).TrimEnd('/') + "/";
        var project = Path.GetFullPath(ProjectDirectory).TrimEnd('/') + "/";
        if (cache.StartsWith(project, StringComparison.Ordinal))
        {
            throw new DtvException("CacheDirectoryInProject", CacheDirectory, ProjectDirectory);
        }
    }

    private static void WriteIfChanged(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content)
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, content, HostTools.Utf8);
    }
}
