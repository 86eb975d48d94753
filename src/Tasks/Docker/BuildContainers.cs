using System.Globalization;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// The containers a build makes for a moment (to commit the app layer, to try the image) are
/// named after the machine and the process that made them. A build that is killed cannot
/// remove its own; the next build on the machine finds those whose process has ended and
/// removes them. Names, unlike labels, do not pass into a committed image.
/// </summary>
public static class BuildContainers
{
    /// <summary>What every such container's name begins with.</summary>
    public const string Prefix = "dockertovms-build-";

    private static readonly string s_owner = OwnerOf(Environment.ProcessId);

    /// <summary>A fresh name for a container of this build.</summary>
    public static string NewName() =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{s_owner}-{Guid.NewGuid():N}");

    /// <summary>
    /// Removes the containers that builds on this machine made and left when they were
    /// killed. Containers of running builds, and of other machines that share the daemon,
    /// are left alone.
    /// </summary>
    public static async Task RemoveOrphansAsync(IDockerClient client,
        CancellationToken cancellation)
    {
        var containers = await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["name"] = new Dictionary<string, bool> { [Prefix] = true },
            },
        }, cancellation).ConfigureAwait(false);

        foreach (var container in containers)
        {
            var name = container.Names?.FirstOrDefault()?.TrimStart('/') ?? string.Empty;
            if (!IsOrphan(name))
            {
                continue;
            }

            try
            {
                await client.Containers.RemoveContainerAsync(container.ID,
                    new ContainerRemoveParameters { Force = true }, cancellation)
                    .ConfigureAwait(false);
            }
            catch (DockerApiException)
            {
                // Another build removed it first.
            }
        }
    }

    /// <summary>
    /// Whether the container of that name was made on this machine by a process that has
    /// ended: none runs under its process id, or one that started at another time.
    /// </summary>
    public static bool IsOrphan(string name)
    {
        // prefix, then machine.pid.start, then the guid.
        if (!name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var owner = name[Prefix.Length..];
        var dash = owner.LastIndexOf('-');
        if (dash <= 0)
        {
            return false;
        }

        owner = owner[..dash];
        var parts = owner.Split('.');
        return parts.Length >= 3
            && string.Join('.', parts[..^2]) == Machine()
            && int.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && OwnerOf(pid) != owner;
    }

    // machine.pid.start; the start time tells a process from a later one with the same id.
    private static string OwnerOf(int pid) =>
        string.Create(CultureInfo.InvariantCulture, $"{Machine()}.{pid}.{StartOf(pid)}");

    private static string Machine()
    {
        var name = new StringBuilder();
        foreach (var c in Environment.MachineName)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        }

        return name.Length > 0 ? name.ToString() : "machine";
    }

    // /proc/PID/stat: the 22nd field is the start time in clock ticks after boot; the name
    // in parentheses (the 2nd) may hold spaces, so fields are counted after it.
    private static string StartOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[19];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException
            or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return "gone";
        }
    }
}
