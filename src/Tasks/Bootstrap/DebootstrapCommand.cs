using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Bootstrap;

/// <summary>What to bootstrap: the inputs of one debootstrap run.</summary>
public sealed record DebootstrapOptions
{
    /// <summary>The suite or codename.</summary>
    public required string Suite { get; init; }

    /// <summary>The mirror's URL.</summary>
    public required string Mirror { get; init; }

    /// <summary>The directory to create the root filesystem in.</summary>
    public required string TargetDirectory { get; init; }

    /// <summary>The Debian architecture.</summary>
    public required string Architecture { get; init; }

    /// <summary>The debootstrap variant; <c>minbase</c> has only essential packages and apt.</summary>
    public string Variant { get; init; } = "minbase";

    /// <summary>The archive components.</summary>
    public IReadOnlyList<string> Components { get; init; } = ["main"];

    /// <summary>Packages to add to the bootstrap.</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>Packages to leave out of the bootstrap.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>The keyring to check the archive with; empty for debootstrap's default.</summary>
    public string Keyring { get; init; } = string.Empty;

    /// <summary>Whether to stop after the first stage (for another architecture).</summary>
    public bool Foreign { get; init; }

    /// <summary>
    /// Whether the archive may be installed without checking its signatures. Off, debootstrap
    /// is told to fail when it cannot check them, rather than to warn and go on.
    /// </summary>
    public bool AllowUnsigned { get; init; }
}

/// <summary>
/// Builds the debootstrap command line. debootstrap runs in private mount and process
/// namespaces, so the /proc and /sys it mounts inside the target vanish with it, and killing
/// it kills every package script it started; and with a clean environment, so nothing of the
/// build machine's environment reaches the image.
/// </summary>
public static class DebootstrapCommand
{
    /// <summary>The PATH given to debootstrap and to everything it runs.</summary>
    public const string CleanPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    // Only these variables pass from the build into debootstrap: proxies decide whether the
    // mirror can be reached at all, and they are not written into the root filesystem.
    private static readonly string[] s_passedThrough =
        ["http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"];

    /// <summary>
    /// The build's proxy settings as NAME=value words, for the commands that download
    /// packages. They are given to the processes only, never written into the root filesystem.
    /// </summary>
    public static IEnumerable<string> ProxyVariables() =>
        s_passedThrough
            .Select(name => (Name: name, Value: Environment.GetEnvironmentVariable(name)))
            .Where(pair => !string.IsNullOrEmpty(pair.Value))
            .Select(pair => $"{pair.Name}={pair.Value}");

    /// <summary>The full command: unshare, env and debootstrap with its arguments.</summary>
    public static ToolCommand Create(DebootstrapOptions options)
    {
        var arguments = new List<string>
        {
            "--mount", "--pid", "--propagation", "private", "--fork", "--kill-child", "--",
            "env", "-i", "PATH=" + CleanPath, "LC_ALL=C.UTF-8",
        };
        arguments.AddRange(ProxyVariables());
        arguments.Add("debootstrap");
        arguments.AddRange(CreateArguments(options));

        // A half-made root filesystem is discarded, so a cancelled bootstrap is killed at once.
        return new ToolCommand("unshare", arguments) { GracePeriod = TimeSpan.Zero };
    }

    /// <summary>debootstrap's own arguments.</summary>
    public static IReadOnlyList<string> CreateArguments(DebootstrapOptions options)
    {
        var arguments = new List<string>
        {
            "--variant=" + options.Variant,
            "--arch=" + options.Architecture,
        };
        if (options.Components.Count > 0)
        {
            arguments.Add("--components=" + string.Join(',', options.Components));
        }

        if (options.Include.Count > 0)
        {
            arguments.Add("--include=" + string.Join(',', options.Include));
        }

        if (options.Exclude.Count > 0)
        {
            arguments.Add("--exclude=" + string.Join(',', options.Exclude));
        }

        if (options.AllowUnsigned)
        {
            arguments.Add("--no-check-gpg");
        }
        else
        {
            // Without it debootstrap only warns when the keyring is missing and goes on
            // unchecked over http.
            arguments.Add("--force-check-gpg");
            if (options.Keyring.Length > 0)
            {
                arguments.Add("--keyring=" + options.Keyring);
            }
        }

        if (options.Foreign)
        {
            arguments.Add("--foreign");
        }

        arguments.Add(options.Suite);
        arguments.Add(options.TargetDirectory);
        arguments.Add(options.Mirror);
        return arguments;
    }
}
