using System.Diagnostics;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Bootstrap;

/// <summary>
/// Creates a Debian or Ubuntu root filesystem with debootstrap. The inputs are checked first
/// (suite, mirror, architecture, target), the mirror is asked whether it has the suite, and
/// debootstrap's output is streamed into the build log.
/// </summary>
public sealed class DebootstrapTask : AsyncTask
{
    /// <summary>The suite or codename, such as <c>trixie</c>, <c>bookworm</c> or <c>noble</c>.</summary>
    [Required]
    public string Suite { get; set; } = string.Empty;

    /// <summary>The mirror's URL: http, https or file.</summary>
    [Required]
    public string Mirror { get; set; } = string.Empty;

    /// <summary>The directory to create; it must not exist or be empty.</summary>
    [Required]
    public string TargetDirectory { get; set; } = string.Empty;

    /// <summary>The debootstrap variant. Defaults to <c>minbase</c>.</summary>
    public string Variant { get; set; } = "minbase";

    /// <summary>The Debian architecture. Defaults to the build machine's.</summary>
    public string Architecture { get; set; } = string.Empty;

    /// <summary>The archive components. Defaults to <c>main</c>.</summary>
    public string[] Components { get; set; } = ["main"];

    /// <summary>Packages added to the bootstrap.</summary>
    public string[] IncludePackages { get; set; } = [];

    /// <summary>Packages left out of the bootstrap.</summary>
    public string[] ExcludePackages { get; set; } = [];

    /// <summary>A keyring to verify the archive with; empty for debootstrap's default.</summary>
    public string Keyring { get; set; } = string.Empty;

    /// <summary>Stop after the first stage, for an architecture the machine cannot run.</summary>
    public bool Foreign { get; set; }

    /// <summary>Replaces the mirror check in tests; null for the real one.</summary>
    internal MirrorProbe? Probe { get; set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var options = Validate();
        var runner = GetRunner();
        if (runner.Find("debootstrap") is null)
        {
            throw new DtvException("DebootstrapMissing");
        }

        if (runner.Find("unshare") is null)
        {
            throw new DtvException("UnshareMissing", "unshare");
        }

        await (Probe ?? new MirrorProbe())
            .CheckAsync(new Uri(options.Mirror), options.Suite, cancellation)
            .ConfigureAwait(false);

        var clock = Stopwatch.StartNew();
        var result = await runner.RunAsync(DebootstrapCommand.Create(options), cancellation)
            .ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new DtvException("DebootstrapFailed", options.Suite, options.Architecture,
                result.ExitCode, result.Tail);
        }

        LogStageTime("bootstrap", clock.Elapsed);
    }

    private DebootstrapOptions Validate()
    {
        RecipeValidation.Suite(Suite);
        RecipeValidation.Mirror(Mirror);
        var architecture = Architecture.Length == 0 ? DebianArchitecture.Host : Architecture;
        RecipeValidation.Architecture(architecture);
        RecipeValidation.Components(Components);
        RecipeValidation.PackageNames(IncludePackages, nameof(IncludePackages));
        RecipeValidation.PackageNames(ExcludePackages, nameof(ExcludePackages));
        if (Keyring.Length > 0 && !File.Exists(Keyring))
        {
            throw new DtvException("KeyringMissing", Keyring);
        }

        var target = Path.GetFullPath(TargetDirectory);
        if (target == "/")
        {
            throw new DtvException("TargetIsRoot", TargetDirectory);
        }

        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new DtvException("TargetNotEmpty", target);
        }

        if (!HostTools.IsRoot)
        {
            throw new DtvException("NotRoot");
        }

        return new DebootstrapOptions
        {
            Suite = Suite,
            Mirror = Mirror,
            TargetDirectory = target,
            Architecture = architecture,
            Variant = Variant,
            Components = Components,
            Include = IncludePackages,
            Exclude = ExcludePackages,
            Keyring = Keyring,
            Foreign = Foreign,
        };
    }
}
