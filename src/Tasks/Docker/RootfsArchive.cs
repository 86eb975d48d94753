using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// The tar command that packs a root filesystem for Docker: numeric owners (no names of the
/// build machine's accounts), extended attributes such as file capabilities, hard links kept,
/// entries in name order, and the contents of the kernel's mount points left out, since the
/// container runtime mounts its own.
/// </summary>
public static class RootfsArchive
{
    private static readonly string[] s_runtimeMounts = ["dev", "proc", "sys", "run"];

    /// <summary>The command that writes the archive of the directory to standard output.</summary>
    public static ToolCommand Create(string rootDirectory)
    {
        var arguments = new List<string>
        {
            "--create", "--file=-", "--directory=" + rootDirectory,
            "--numeric-owner", "--xattrs", "--xattrs-include=*", "--sort=name",
            "--one-file-system",
        };
        arguments.AddRange(s_runtimeMounts.Select(m => $"--exclude=./{m}/*"));
        arguments.Add(".");
        return new ToolCommand("tar", arguments);
    }
}
