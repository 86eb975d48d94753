using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Bootstrap;

/// <summary>The tools that can bootstrap a base root filesystem.</summary>
public enum BootstrapperKind
{
    /// <summary>debootstrap: needs root; the only one that can leave packages out.</summary>
    Debootstrap,

    /// <summary>mmdebstrap: faster, and works without root in a user namespace.</summary>
    Mmdebstrap,
}

/// <summary>The bootstrapper chosen for a build, and why, for the build log.</summary>
/// <param name="Kind">The tool.</param>
/// <param name="Reason">Why it was chosen, in words for the log.</param>
public sealed record BootstrapperChoice(BootstrapperKind Kind, string Reason)
{
    /// <summary>The tool's program name.</summary>
    public string Name => Kind == BootstrapperKind.Mmdebstrap ? "mmdebstrap" : "debootstrap";
}

/// <summary>
/// Chooses the bootstrapper from the BaseImageBootstrapper setting. Both make the same
/// packages from the same recipe, so the choice is not part of the recipe's digest; <c>auto</c>
/// takes mmdebstrap when it is installed because it is faster, and debootstrap when the recipe
/// leaves packages out, which mmdebstrap cannot do.
/// </summary>
public static class BootstrapperSelection
{
    /// <summary>The setting that lets the library choose.</summary>
    public const string Auto = "auto";

    /// <summary>Every value BaseImageBootstrapper accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = [Auto, "debootstrap", "mmdebstrap"];

    /// <summary>Chooses the bootstrapper, or fails with what to install or set.</summary>
    /// <param name="setting">BaseImageBootstrapper; empty means <c>auto</c>.</param>
    /// <param name="options">The recipe; packages left out rule mmdebstrap out.</param>
    /// <param name="rootless">Whether the build runs as an ordinary user (and so the tool
    /// runs in its user namespace).</param>
    /// <param name="find">Finds a program on PATH (<see cref="IToolRunner.Find"/>).</param>
    /// <exception cref="DtvException">DTV9070 for an unknown setting; DTV1008, DTV1101,
    /// DTV1103 or DTV1104 when the chosen tool cannot make this recipe here.</exception>
    public static BootstrapperChoice Choose(string setting, DebootstrapOptions options,
        bool rootless, Func<string, string?> find)
    {
        var name = setting.Trim().ToLowerInvariant();
        var hasMmdebstrap = find("mmdebstrap") is not null;
        var excludes = options.Exclude.Count > 0;
        switch (name.Length == 0 ? Auto : name)
        {
            case "debootstrap":
                if (rootless)
                {
                    throw new DtvException("DebootstrapNeedsRoot", Environment.UserName);
                }

                return RequireDebootstrap(find, "BaseImageBootstrapper=debootstrap");

            case "mmdebstrap":
            case Auto when rootless || (hasMmdebstrap && !excludes):
                if (!hasMmdebstrap)
                {
                    throw new DtvException("MmdebstrapMissing", name.Length == 0 ? Auto : name,
                        rootless ? " (the build does not run as root)" : string.Empty);
                }

                if (excludes)
                {
                    throw new DtvException("MmdebstrapCannotExclude", string.Join(' ',
                        options.Exclude));
                }

                return new(BootstrapperKind.Mmdebstrap, name == "mmdebstrap"
                    ? "BaseImageBootstrapper=mmdebstrap"
                    : rootless
                        ? "auto: the build does not run as root"
                        : "auto: mmdebstrap is installed");

            case Auto:
                return RequireDebootstrap(find, excludes
                    ? "auto: BaseImageExcludePackage needs debootstrap"
                    : "auto: mmdebstrap is not installed");

            default:
                throw new DtvException("BootstrapperInvalid", setting,
                    string.Join(", ", Names));
        }
    }

    private static BootstrapperChoice RequireDebootstrap(Func<string, string?> find,
        string reason) =>
        find("debootstrap") is null
            ? throw new DtvException("DebootstrapMissing")
            : new(BootstrapperKind.Debootstrap, reason);
}

/// <summary>
/// What differs between the bootstrappers when the task runs one: the command, where the
/// tool keeps the log that explains a failure, and how an emulated architecture is made.
/// </summary>
internal abstract class BootstrapBackend
{
    /// <summary>The backend for a chosen tool.</summary>
    public static BootstrapBackend For(BootstrapperKind kind) =>
        kind == BootstrapperKind.Mmdebstrap
            ? new MmdebstrapBackend()
            : new DebootstrapBackend();

    /// <summary>The tool's name, for messages.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Whether an emulated architecture needs debootstrap's second stage after the command;
    /// mmdebstrap runs the packages' scripts under emulation itself.
    /// </summary>
    public abstract bool NeedsSecondStage { get; }

    /// <summary>The resource of the error for a failure nothing else explains.</summary>
    public abstract string FailedResource { get; }

    /// <summary>The command that bootstraps the recipe.</summary>
    public abstract ToolCommand CreateCommand(DebootstrapOptions options, bool emulated);

    /// <summary>The last lines of the tool's own log in the target, or none.</summary>
    public abstract IReadOnlyList<string> ReadLog(string targetDirectory);

    private sealed class DebootstrapBackend : BootstrapBackend
    {
        public override string Name => "debootstrap";

        public override bool NeedsSecondStage => true;

        public override string FailedResource => "DebootstrapFailed";

        public override ToolCommand CreateCommand(DebootstrapOptions options, bool emulated) =>
            DebootstrapCommand.Create(options with { Foreign = options.Foreign || emulated });

        public override IReadOnlyList<string> ReadLog(string targetDirectory) =>
            DebootstrapOutput.ReadLog(targetDirectory);
    }

    private sealed class MmdebstrapBackend : BootstrapBackend
    {
        public override string Name => "mmdebstrap";

        public override bool NeedsSecondStage => false;

        public override string FailedResource => "MmdebstrapFailed";

        public override ToolCommand CreateCommand(DebootstrapOptions options, bool emulated) =>
            MmdebstrapCommand.Create(options, emulated);

        // mmdebstrap prints apt's and dpkg's output itself and keeps no log in the target.
        public override IReadOnlyList<string> ReadLog(string targetDirectory) => [];
    }
}
