using System.Text.Json;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// The configuration of the app image, from the same settings .NET developers know from the
/// SDK's container publishing: repository, tags, working directory, user, command, ports,
/// environment and labels. Every value is checked when the settings are read.
/// </summary>
public sealed record ImageSettings
{
    /// <summary>Metadata holding the value of an environment variable or label item.</summary>
    public const string ValueMetadata = "Value";

    /// <summary>Metadata holding the protocol of a port item.</summary>
    public const string TypeMetadata = "Type";

    /// <summary>The image repository.</summary>
    public required string Repository { get; init; }

    /// <summary>The tags the image gets; at least one.</summary>
    public required IReadOnlyList<string> Tags { get; init; }

    /// <summary>The absolute directory the app is copied to and started in.</summary>
    public string WorkingDirectory { get; init; } = "/app";

    /// <summary>The user the app runs as; empty for the base's default.</summary>
    public string User { get; init; } = string.Empty;

    /// <summary>The program and its fixed arguments (the image's ENTRYPOINT).</summary>
    public IReadOnlyList<string> Entrypoint { get; init; } = [];

    /// <summary>Default arguments that <c>docker run</c> arguments replace (the image's CMD).</summary>
    public IReadOnlyList<string> Cmd { get; init; } = [];

    /// <summary>Environment variables, in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];

    /// <summary>Exposed ports as <c>number/protocol</c>.</summary>
    public IReadOnlyList<string> Ports { get; init; } = [];

    /// <summary>Labels, in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];

    /// <summary>Reads and checks the settings from MSBuild values and items.</summary>
    public static ImageSettings Read(string repository, string tag, string[] tags,
        string workingDirectory, string user, ITaskItem[] entrypoint, ITaskItem[] cmd,
        ITaskItem[] environment, ITaskItem[] ports, ITaskItem[] labels)
    {
        RecipeValidation.Repository(repository);
        var allTags = tags.Length > 0 ? tags : [tag.Length > 0 ? tag : "latest"];
        foreach (var each in allTags)
        {
            RecipeValidation.Tag(each);
        }

        var directory = workingDirectory.Length > 0 ? workingDirectory : "/app";
        RecipeValidation.PathInImage(directory, "ContainerWorkingDirectory");
        RecipeValidation.User(user);

        foreach (var variable in environment)
        {
            RecipeValidation.EnvironmentVariableName(variable.ItemSpec);
        }

        var exposed = new List<string>();
        foreach (var port in ports)
        {
            var type = port.GetMetadata(TypeMetadata);
            type = type.Length > 0 ? type.ToLowerInvariant() : "tcp";
            RecipeValidation.Port(port.ItemSpec, type);
            exposed.Add($"{int.Parse(port.ItemSpec, System.Globalization.CultureInfo.InvariantCulture)}/{type}");
        }

        return new ImageSettings
        {
            Repository = repository,
            Tags = allTags.Distinct(StringComparer.Ordinal).ToList(),
            WorkingDirectory = directory.Length > 1 ? directory.TrimEnd('/') : directory,
            User = user,
            Entrypoint = entrypoint.Select(i => i.ItemSpec).ToList(),
            Cmd = cmd.Select(i => i.ItemSpec).ToList(),
            Environment = Pairs(environment),
            Ports = exposed.Distinct(StringComparer.Ordinal).ToList(),
            Labels = Pairs(labels),
        };
    }

    /// <summary>A stable text of the settings that decide the image's content.</summary>
    public string ToCanonicalJson() => JsonSerializer.Serialize(new object[]
    {
        WorkingDirectory, User, Entrypoint, Cmd,
        Environment.Select(p => new[] { p.Key, p.Value }),
        Ports,
        Labels.Select(p => new[] { p.Key, p.Value }),
    });

    private static List<KeyValuePair<string, string>> Pairs(ITaskItem[] items) =>
        items.Select(i => new KeyValuePair<string, string>(i.ItemSpec,
            i.GetMetadata(ValueMetadata))).ToList();
}
