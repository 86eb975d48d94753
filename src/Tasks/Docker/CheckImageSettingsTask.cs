using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// Checks the image settings during an ordinary build, without root, network or Docker, so
/// that mistakes show up before anyone publishes: repository and tags, working directory,
/// user, ports, environment names, and, when a base image is to be built, the runtime
/// identifier and whether the app can start on a base without a .NET runtime.
/// </summary>
public sealed class CheckImageSettingsTask : ImageSettingsTask
{
    /// <summary>Whether a base image is to be built, which adds the checks below.</summary>
    public bool BuildBaseImage { get; set; }

    /// <summary>The app's runtime identifier.</summary>
    public string RuntimeIdentifier { get; set; } = string.Empty;

    /// <summary>Whether the app is published with its runtime (self-contained or native).</summary>
    public bool CarriesRuntime { get; set; }

    /// <summary>Packages the base installs; one of them may provide a .NET runtime.</summary>
    public ITaskItem[] Packages { get; set; } = [];

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        ReadSettings([], []);
        if (BuildBaseImage)
        {
            RecipeValidation.RuntimeIdentifier(RuntimeIdentifier);
            if (!CarriesRuntime && !Packages.Any(p => ProvidesRuntime(p.ItemSpec)))
            {
                throw new DtvException("NoRuntimeInBase");
            }
        }

        return System.Threading.Tasks.Task.CompletedTask;
    }

    // Debian and Ubuntu name their .NET runtime packages dotnet-runtime-X.Y and
    // aspnetcore-runtime-X.Y (and dotnetN on Ubuntu).
    private static bool ProvidesRuntime(string package) =>
        package.StartsWith("dotnet-runtime", StringComparison.Ordinal)
        || package.StartsWith("aspnetcore-runtime", StringComparison.Ordinal)
        || System.Text.RegularExpressions.Regex.IsMatch(package, "^dotnet[0-9]+$");
}
