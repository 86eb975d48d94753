using System.Diagnostics;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Writes the VM flavour of the app image's root filesystem into a directory: the same base
/// and app as the container image, the init as /init, the kernel's modules, and the image's
/// command, environment, working directory and user for the init to start the app with.
/// </summary>
public sealed class WriteVmRootTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>The base root filesystem of the app image.</summary>
    [Required]
    public string BaseRootDirectory { get; set; } = string.Empty;

    /// <summary>The published app.</summary>
    [Required]
    public string PublishDirectory { get; set; } = string.Empty;

    /// <summary>Where the app goes and where it starts (ContainerWorkingDirectory).</summary>
    [Required]
    public string WorkingDirectory { get; set; } = string.Empty;

    /// <summary>The user the app runs as (ContainerUser): a name or uid, either with :group.
    /// </summary>
    public string User { get; set; } = string.Empty;

    /// <summary>The image's entrypoint and arguments, one word per item.</summary>
    [Required]
    public ITaskItem[] Command { get; set; } = [];

    /// <summary>The image's environment: the variable's name with a <c>Value</c>; a later
    /// item replaces an earlier one of the same name.</summary>
    public ITaskItem[] EnvironmentVariables { get; set; } = [];

    /// <summary>Further files, each with its absolute path in the image as <c>Destination</c>.
    /// </summary>
    public ITaskItem[] ExtraFiles { get; set; } = [];

    /// <summary>The compiled init, with VmInit=tiny.</summary>
    public string InitPath { get; set; } = string.Empty;

    /// <summary>VmInit: tiny (the compiled init) or systemd (the base must have it; the app
    /// becomes a service unit).</summary>
    public string Init { get; set; } = "tiny";

    /// <summary>The app's name, which names its service unit with VmInit=systemd.</summary>
    public string AppName { get; set; } = "app";

    /// <summary>A tree laid over the root: the kernel's modules.</summary>
    public string ModulesRoot { get; set; } = string.Empty;

    /// <summary>The modules the init loads, in order.</summary>
    public string[] ModuleLoadOrder { get; set; } = [];

    /// <summary>The directory to write; it is emptied first.</summary>
    [Required]
    public string OutputDirectory { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var launch = AppLaunch.For(BaseRootDirectory, [.. Command.Select(c => c.ItemSpec)],
            Environment(EnvironmentVariables), WorkingDirectory, User, ModuleLoadOrder);
        var content = new VmRoot.Content(PublishDirectory, WorkingDirectory,
            [.. ExtraFiles.Select(f => (f.ItemSpec, f.GetMetadata("Destination")))], InitPath,
            ModulesRoot, launch,
            Init == "systemd" ? SystemdUnits.ServiceName(AppName) : string.Empty,
            ModuleLoadOrder);
        await new VmRoot(GetRunner()).BuildAsync(BaseRootDirectory, OutputDirectory, content,
            cancellation).ConfigureAwait(false);
        LogStageTime("the VM root filesystem", clock.Elapsed);
    }

    /// <summary>NAME=VALUE lines in the items' order, a repeated name keeping its first place
    /// and its last value, as image configurations merge them.</summary>
    public static IReadOnlyList<string> Environment(IEnumerable<ITaskItem> variables)
    {
        var names = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in variables)
        {
            if (!values.ContainsKey(variable.ItemSpec))
            {
                names.Add(variable.ItemSpec);
            }

            values[variable.ItemSpec] = variable.GetMetadata("Value");
        }

        return [.. names.Select(n => n + "=" + values[n])];
    }
}
