using System.Text.RegularExpressions;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Verify;

/// <summary>A finding of the early check: a coded message, as a warning or an error.</summary>
/// <param name="IsError">Whether the build must stop.</param>
/// <param name="ResourceName">The message in the resource file.</param>
/// <param name="Arguments">The values the message names.</param>
public sealed record LintFinding(bool IsError, string ResourceName, params object[] Arguments);

/// <summary>The base image settings the early check looks at.</summary>
public sealed record RecipeSettings
{
    /// <summary>The image the base starts from (BaseImageFrom); empty to bootstrap.</summary>
    public string From { get; init; } = string.Empty;

    /// <summary>Bootstrap settings set to other than their defaults, as name and value.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> BootstrapSettings { get; init; } = [];

    /// <summary>BaseImagePackage items, as written.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>BaseImageExcludePackage items, as written.</summary>
    public IReadOnlyList<string> ExcludedPackages { get; init; } = [];

    /// <summary>BaseImageRun commands.</summary>
    public IReadOnlyList<string> Runs { get; init; } = [];

    /// <summary>Whether RUN commands must do without the network (BaseImageOffline).</summary>
    public bool Offline { get; init; }

    /// <summary>The trim level (BaseImageTrim).</summary>
    public string Trim { get; init; } = "slim";

    /// <summary>BaseImageCheck items.</summary>
    public IReadOnlyList<ITaskItem> Checks { get; init; } = [];
}

/// <summary>
/// Finds contradictions and mistakes in the base image settings before anything runs:
/// settings that BaseImageFrom makes pointless, packages listed twice or both installed and
/// left out, RUN commands that need the network in an offline recipe, an unknown trim level
/// and image checks with unusable metadata.
/// </summary>
public static partial class RecipeLint
{
    /// <summary>Every finding, warnings and errors, in the order of the settings.</summary>
    public static IEnumerable<LintFinding> Check(RecipeSettings settings)
    {
        var trim = TrimFinding(settings.Trim);
        if (trim is not null)
        {
            yield return trim;
        }

        if (settings.From.Length > 0)
        {
            foreach (var (name, value) in settings.BootstrapSettings)
            {
                yield return new LintFinding(false, "SettingIgnoredWithFrom", name, value,
                    settings.From);
            }
        }

        foreach (var twice in settings.Packages.GroupBy(p => p, StringComparer.Ordinal)
            .Where(g => g.Count() > 1))
        {
            yield return new LintFinding(false, "PackageListedTwice", twice.Key, twice.Count());
        }

        foreach (var both in settings.Packages.Intersect(settings.ExcludedPackages,
            StringComparer.Ordinal))
        {
            yield return new LintFinding(false, "PackageInstalledAndExcluded", both);
        }

        if (settings.Offline)
        {
            foreach (var run in settings.Runs)
            {
                if (NetworkTool(run) is { } tool)
                {
                    yield return new LintFinding(true, "RunNeedsNetwork", run, tool);
                }
            }
        }

        foreach (var check in settings.Checks)
        {
            foreach (var finding in ImageCheck.Problems(check))
            {
                yield return finding;
            }
        }
    }

    /// <summary>The network tool a shell command calls, or null when it calls none.</summary>
    public static string? NetworkTool(string command)
    {
        var match = NetworkToolPattern().Match(command);
        return match.Success ? Regex.Replace(match.Groups["tool"].Value, @"\s+", " ") : null;
    }

    private static LintFinding? TrimFinding(string trim)
    {
        try
        {
            RootfsTrimmer.Parse(trim);
            return null;
        }
        catch (DtvException e)
        {
            return new LintFinding(true, e.ResourceName, [.. e.Arguments.Select(a => a ?? "")]);
        }
    }

    // A tool counts where a command can start: at the beginning, after a separator, a
    // pipe, a subshell, or a directory part of its path. Package downloads by apt, file
    // downloads, clones and language package managers all need the network.
    [GeneratedRegex(@"(?:^|[\s;&|(`/])(?<tool>(?:apt-get|apt|aptitude)\s+(?:-\S+\s+)*"
        + @"(?:update|install|upgrade|dist-upgrade|full-upgrade|download|source|build-dep)"
        + @"|curl|wget|git\s+clone|pip3?\s+install|npm\s+(?:install|ci))(?=$|[\s;&|)`])")]
    private static partial Regex NetworkToolPattern();
}
