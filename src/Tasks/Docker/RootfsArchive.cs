using System.Globalization;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// The tar command that packs a root filesystem as an image layer: numeric owners (no names
/// of the build machine's accounts), extended attributes such as file capabilities, hard
/// links, devices, entries in name order, and the contents of the kernel's mount points left
/// out, since the container runtime mounts its own. Extended attributes make GNU tar write
/// POSIX (pax) headers; access and change times, which differ on every run, are left out of
/// them, and the headers get names without the process id, so that an unchanged tree packs
/// to the same bytes.
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
            "--format=posix",
            "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
            "--numeric-owner", "--xattrs", "--xattrs-include=*", "--sort=name",
            "--one-file-system",
        };

        // As for the app layer, SOURCE_DATE_EPOCH is the latest time any file may carry.
        var epoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        if (long.TryParse(epoch, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            arguments.Add("--mtime=@" + seconds.ToString(CultureInfo.InvariantCulture));
            arguments.Add("--clamp-mtime");
        }

        arguments.AddRange(s_runtimeMounts.Select(m => $"--exclude=./{m}/*"));
        arguments.Add(".");
        return new ToolCommand("tar", arguments);
    }
}
