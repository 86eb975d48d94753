using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// The image settings shared by the tasks that check or apply them, under the names of the
/// .NET SDK's container publishing.
/// </summary>
public abstract class ImageSettingsTask : AsyncTask
{
    /// <summary>The image repository (ContainerRepository).</summary>
    [Required]
    public string Repository { get; set; } = string.Empty;

    /// <summary>The tag when only one is wanted (ContainerImageTag).</summary>
    public string Tag { get; set; } = "latest";

    /// <summary>Several tags (ContainerImageTags); replaces <see cref="Tag"/> when given.</summary>
    public string[] Tags { get; set; } = [];

    /// <summary>Where the app goes and starts (ContainerWorkingDirectory).</summary>
    public string WorkingDirectory { get; set; } = "/app";

    /// <summary>The user the app runs as (ContainerUser).</summary>
    public string User { get; set; } = string.Empty;

    /// <summary>Environment variables: item spec the name, <c>Value</c> metadata.</summary>
    public ITaskItem[] EnvironmentVariables { get; set; } = [];

    /// <summary>Ports to expose: item spec the number, <c>Type</c> tcp or udp.</summary>
    public ITaskItem[] Ports { get; set; } = [];

    /// <summary>Labels: item spec the key, <c>Value</c> metadata.</summary>
    public ITaskItem[] Labels { get; set; } = [];

    /// <summary>Reads and checks the settings, with the command given separately.</summary>
    private protected ImageSettings ReadSettings(ITaskItem[] entrypoint, ITaskItem[] cmd) =>
        ImageSettings.Read(Repository, Tag, Tags, WorkingDirectory, User, entrypoint, cmd,
            EnvironmentVariables, Ports, Labels);
}
