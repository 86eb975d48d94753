using System.Reflection;
using System.Text.Json;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Sbom;

/// <summary>
/// Writes the SBOM of the app image: every Debian package installed in the base, from its
/// dpkg database, and every NuGet package the app was published with, from its
/// <c>.deps.json</c>, as CycloneDX JSON. The file is rewritten only when its content
/// changes, and its digest is given back for the image's label.
/// </summary>
public sealed class WriteSbomTask : AsyncTask
{
    /// <summary>The base root filesystem the app image stands on.</summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>The published app's <c>.deps.json</c>; optional.</summary>
    public string DepsFile { get; set; } = string.Empty;

    /// <summary>Where to write the SBOM.</summary>
    [Required]
    public string OutputFile { get; set; } = string.Empty;

    /// <summary>The image repository.</summary>
    [Required]
    public string Repository { get; set; } = string.Empty;

    /// <summary>The image's tag.</summary>
    public string Tag { get; set; } = "latest";

    /// <summary>The app's name.</summary>
    public string AppName { get; set; } = string.Empty;

    /// <summary>The app's version.</summary>
    public string AppVersion { get; set; } = string.Empty;

    /// <summary>The SHA-256 of the SBOM file, <c>sha256:...</c>.</summary>
    [Output]
    public string Digest { get; private set; } = string.Empty;

    /// <summary>The number of packages listed, Debian and NuGet together.</summary>
    [Output]
    public int PackageCount { get; private set; }

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        if (!DpkgStatus.Exists(RootDirectory))
        {
            Log.LogWarningWithCodeFromResources("SbomNoPackageDatabase", RootDirectory);
        }

        var debian = DpkgStatus.Read(RootDirectory);
        var nuget = ReadNuGet();
        var document = CycloneDxDocument.Write(new SbomContent
        {
            Repository = Repository,
            Tag = Tag.Length > 0 ? Tag : "latest",
            AppName = AppName,
            AppVersion = AppVersion,
            OperatingSystem = OperatingSystem.Read(RootDirectory),
            DebianPackages = debian,
            NuGetPackages = nuget,
            ToolVersion = ToolVersion(),
        });

        Digest = CycloneDxDocument.Digest(document);
        PackageCount = debian.Count + nuget.Count;
        if (!File.Exists(OutputFile) || !File.ReadAllBytes(OutputFile).AsSpan().SequenceEqual(document))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(OutputFile))!);
            File.WriteAllBytes(OutputFile, document);
        }

        Log.LogMessageFromResources(MessageImportance.High, "SbomWritten", OutputFile,
            debian.Count, nuget.Count);
        return System.Threading.Tasks.Task.CompletedTask;
    }

    private IReadOnlyList<NuGetPackage> ReadNuGet()
    {
        if (DepsFile.Length == 0 || !File.Exists(DepsFile))
        {
            return [];
        }

        try
        {
            return NuGetDependencies.Read(DepsFile);
        }
        catch (JsonException e)
        {
            Log.LogWarningWithCodeFromResources("SbomDepsUnreadable", DepsFile, e.Message);
            return [];
        }
    }

    // The package's version, without the source revision the SDK appends after '+'.
    private static string ToolVersion()
    {
        var version = typeof(WriteSbomTask).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? string.Empty;
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
