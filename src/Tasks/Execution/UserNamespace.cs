using System.Diagnostics;
using System.Globalization;

namespace DockerToVms.Tasks.Execution;

/// <summary>
/// The user namespace an ordinary user's build works in. Its root is the building user
/// itself and ids 1 to 65535 are the user's first range of subordinate ids, the layout
/// rootless container tools use: root's files in a root filesystem belong to the user on the
/// outside, so the user can read, replace and remove them, and the files of system users
/// belong to subordinate ids. Inside, each step sees the ids a root build would see, so an
/// image written from inside is owned as one built by root.
/// </summary>
public static class UserNamespace
{
    /// <summary>unshare's options that enter such a namespace (util-linux 2.38 or later).</summary>
    public static IReadOnlyList<string> EnterOptions { get; } =
        ["--user", "--map-auto", "--map-root-user"];

    /// <summary>
    /// Whether this process runs in a user namespace other than the machine's own, whose
    /// mapping covers every id with no offset.
    /// </summary>
    public static bool IsInside => IsPartialMap(ReadMap());

    /// <summary>
    /// The id of the user who runs the build: this process's own, or, in the build's user
    /// namespace, the id outside that the namespace's root stands for.
    /// </summary>
    public static long BuildingUserId => OutsideIdOfRoot(ReadMap()) ?? HostTools.UserId;

    /// <summary>The id outside that a uid_map maps the namespace's root to, if any.</summary>
    public static long? OutsideIdOfRoot(string? uidMap)
    {
        if (!IsPartialMap(uidMap))
        {
            return null;
        }

        foreach (var line in uidMap!.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields is ["0", var outside, _]
                && long.TryParse(outside, NumberStyles.None, CultureInfo.InvariantCulture,
                    out var id))
            {
                return id;
            }
        }

        return null;
    }

    /// <summary>Whether a uid_map's text maps less than every id onto itself.</summary>
    public static bool IsPartialMap(string? uidMap)
    {
        if (uidMap is null)
        {
            return false;
        }

        var lines = uidMap.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var fields = lines.Length == 1
            ? lines[0].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
            : [];
        return fields is not ["0", "0", "4294967295"];
    }

    /// <summary>A command run as the namespace's root.</summary>
    public static ToolCommand Wrap(string program, IEnumerable<string> arguments) =>
        new("unshare", [.. EnterOptions, "--", program, .. arguments]);

    /// <summary>
    /// Deletes a directory whose files belong to ids of the namespace, which the building user
    /// cannot delete from outside it.
    /// </summary>
    /// <exception cref="DtvException">DTV2102 when removal failed.</exception>
    public static void DeleteTree(string directory)
    {
        var start = new ProcessStartInfo("unshare")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var argument in Wrap("rm", ["-rf", "--one-file-system", "--", directory])
            .Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)
            ?? throw new DtvException("NamespaceStepFailed", "rm -rf " + directory,
                Environment.UserName, -1, "unshare did not start");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 || Directory.Exists(directory))
        {
            throw new DtvException("NamespaceStepFailed", "rm -rf " + directory,
                Environment.UserName,
                process.ExitCode.ToString(CultureInfo.InvariantCulture), error.Trim());
        }
    }

    private static string? ReadMap()
    {
        try
        {
            return File.ReadAllText("/proc/self/uid_map");
        }
        catch (IOException)
        {
            return null;
        }
    }
}
