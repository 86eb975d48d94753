using System.Diagnostics;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Chroot;

/// <summary>
/// Customises a root filesystem the way a Dockerfile does: installs packages with apt, copies
/// files in, then runs commands in order, each in a chroot with /proc, /sys, /dev and /run
/// mounted only for its duration.
/// </summary>
public sealed class ChrootExecTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>Metadata of a command item holding the command when the item spec cannot.</summary>
    public const string CommandMetadata = "Command";

    /// <summary>Metadata of a file item: the absolute path inside the root filesystem.</summary>
    public const string DestinationMetadata = "Destination";

    /// <summary>Metadata of a file item: octal permissions; 0644 when absent.</summary>
    public const string ModeMetadata = "Mode";

    /// <summary>Metadata of an environment item: the variable's value.</summary>
    public const string ValueMetadata = "Value";

    private const string MissingMarker = "dockertovms-missing-packages:";

    /// <summary>The root filesystem to work in.</summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>Packages to install with apt before anything else.</summary>
    public string[] Packages { get; set; } = [];

    /// <summary>
    /// Files to copy in: the item spec is the file on the build machine, <c>Destination</c>
    /// the absolute path in the root filesystem, <c>Mode</c> optional octal permissions.
    /// </summary>
    public ITaskItem[] Files { get; set; } = [];

    /// <summary>
    /// Shell commands, run in order with /bin/sh. A command containing semicolons goes in
    /// the <c>Command</c> metadata, since MSBuild splits item specs at semicolons.
    /// </summary>
    public ITaskItem[] Commands { get; set; } = [];

    /// <summary>Environment variables for the commands: item spec the name, <c>Value</c>.</summary>
    public ITaskItem[] EnvironmentVariables { get; set; } = [];

    /// <summary>
    /// Let apt install from an archive without signatures (BaseImageAllowUnsigned), for this
    /// task's steps only.
    /// </summary>
    public bool AllowUnsigned { get; set; }

    /// <summary>
    /// Run the commands without network (BaseImageOffline); packages are still installed
    /// from the archive before them.
    /// </summary>
    public bool Offline { get; set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var files = Files.Select(RecipeFile.FromItem).ToList();
        var environment = ReadEnvironment();
        if (!HostTools.IsRoot)
        {
            throw new DtvException("NotRoot");
        }

        var clock = Stopwatch.StartNew();
        using var session = ChrootSession.Open(RootDirectory, GetRunner(), Log, AllowUnsigned);
        if (Packages.Length > 0)
        {
            await InstallAsync(session, environment, cancellation).ConfigureAwait(false);
        }

        foreach (var file in files)
        {
            session.CopyIn(file.Source, file.Destination, ChrootSession.ParseMode(file.Mode));
        }

        session.WithoutNetwork = Offline;
        foreach (var item in Commands)
        {
            var command = CommandOf(item);
            var result = await session.RunShellAsync(command, environment, cancellation)
                .ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                ThrowIfDiskFull(result);
                throw new DtvException("CommandFailed", command, result.ExitCode, result.Tail);
            }
        }

        LogStageTime("chroot", clock.Elapsed);
    }

    /// <summary>The command an item holds: its Command metadata, or else its item spec.</summary>
    public static string CommandOf(ITaskItem item)
    {
        var command = item.GetMetadata(CommandMetadata);
        return command.Length > 0 ? command : item.ItemSpec;
    }

    private async System.Threading.Tasks.Task InstallAsync(ChrootSession session,
        IReadOnlyDictionary<string, string> environment, CancellationToken cancellation)
    {
        var names = Packages.Where(p => !p.StartsWith('@')).ToList();
        RecipeValidation.PackageNames(names, "BaseImagePackage");

        var script = ChrootSession.Script("install-packages.sh");
        var result = await session.RunAsync(
            ["/bin/sh", "-c", script, "install-packages.sh", .. Packages], environment,
            "apt-get install " + string.Join(' ', Packages), cancellation).ConfigureAwait(false);
        var missing = result.LastLines.FirstOrDefault(l => l.StartsWith(MissingMarker,
            StringComparison.Ordinal));
        if (missing is not null)
        {
            throw new DtvException("PackageNotFound", missing[MissingMarker.Length..].Trim());
        }

        if (result.ExitCode != 0)
        {
            ThrowIfDiskFull(result);
            throw new DtvException("CommandFailed",
                "apt-get install " + string.Join(' ', Packages), result.ExitCode, result.Tail);
        }
    }

    // A step that failed because the disk filled up is reported as that, whatever it was.
    private void ThrowIfDiskFull(ToolResult result)
    {
        if (DiskFull.LineIn(result) is { } line)
        {
            throw new DtvException("DiskFull", RootDirectory, line);
        }
    }

    private Dictionary<string, string> ReadEnvironment()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in EnvironmentVariables)
        {
            RecipeValidation.EnvironmentVariableName(item.ItemSpec);
            environment[item.ItemSpec] = item.GetMetadata(ValueMetadata);
        }

        return environment;
    }
}
