using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace DockerToVms.Tasks.Execution;

/// <summary>One thing that keeps an ordinary user from building in a user namespace.</summary>
/// <param name="Problem">What is missing, in words for the error.</param>
/// <param name="Fix">The command, run as root, that supplies it.</param>
public sealed record NamespaceProblem(string Problem, string Fix);

/// <summary>
/// Checks that an ordinary user can build a root filesystem in the build's user namespace
/// (<see cref="UserNamespace"/>): the kernel allows unprivileged user namespaces, the user's
/// first ranges of subordinate user and group ids are long enough, newuidmap and newgidmap,
/// which map them, are installed setuid root, and unshare can ask them to. Files are read
/// through seams so tests can describe any machine.
/// </summary>
public sealed class UserNamespaceCheck
{
    /// <summary>The ids a root filesystem needs: every id a Debian package may use.</summary>
    public const int RequiredIds = 65536;

    private static readonly string[] s_rangeFiles = ["/etc/subuid", "/etc/subgid"];

    /// <summary>Reads a whole file, or returns null when it does not exist.</summary>
    public Func<string, string?> ReadText { get; init; } = ReadFile;

    /// <summary>Whether a program may set ids: setuid root, or file capabilities.</summary>
    public Func<string, bool> CanSetIds { get; init; } = IsSetuidOrCapable;

    /// <summary>Whether the unshare found on PATH can map subordinate ids itself.</summary>
    public Func<string, bool> UnshareMapsIds { get; init; } = HasMapAuto;

    /// <summary>The building user's name.</summary>
    public string UserName { get; init; } = Environment.UserName;

    /// <summary>The building user's numeric id.</summary>
    public long UserId { get; init; } = HostTools.UserId;

    /// <summary>Everything missing; empty when a user namespace can be used.</summary>
    public IReadOnlyList<NamespaceProblem> FindProblems(Func<string, string?> find)
    {
        var problems = new List<NamespaceProblem>();
        if (Setting("/proc/sys/kernel/unprivileged_userns_clone") == "0")
        {
            problems.Add(new("the kernel does not let ordinary users make user namespaces "
                + "(kernel.unprivileged_userns_clone=0)",
                "sysctl -w kernel.unprivileged_userns_clone=1"));
        }

        if (Setting("/proc/sys/user/max_user_namespaces") == "0")
        {
            problems.Add(new("user namespaces are switched off (user.max_user_namespaces=0)",
                "sysctl -w user.max_user_namespaces=15000"));
        }

        if (Setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1")
        {
            problems.Add(new("AppArmor keeps ordinary users from using user namespaces "
                + "(kernel.apparmor_restrict_unprivileged_userns=1)",
                "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"));
        }

        var free = FreeRange();
        foreach (var (file, kind, option) in new[]
        {
            ("/etc/subuid", "user", "subuids"), ("/etc/subgid", "group", "subgids"),
        })
        {
            var ranges = Ranges(file);
            var add = $"usermod --add-{option} {free} {UserName} (a range no other user has)";
            if (ranges.Count == 0)
            {
                problems.Add(new($"'{UserName}' has no range of {RequiredIds} subordinate {kind} "
                    + $"ids in {file}", add));
            }
            else if (ranges[0].Count < RequiredIds)
            {
                // The build maps the first range only, so a short one has to go.
                var (start, count) = ranges[0];
                var remove = $"usermod --del-{option} {start}-{start + count - 1} {UserName}";
                problems.Add(new($"the first range of subordinate {kind} ids of '{UserName}' in "
                    + $"{file} holds {count} ids, fewer than {RequiredIds}, and the build maps "
                    + "the first range only",
                    ranges.Skip(1).Any(r => r.Count >= RequiredIds) ? remove : $"{remove}; {add}"));
            }
        }

        var unshare = find("unshare");
        if (unshare is not null && !UnshareMapsIds(unshare))
        {
            problems.Add(new($"{unshare} cannot map subordinate ids (--map-auto came with "
                + "util-linux 2.38)", "apt-get install util-linux (2.38 or later)"));
        }

        foreach (var program in new[] { "newuidmap", "newgidmap" })
        {
            var path = find(program);
            if (path is null)
            {
                problems.Add(new($"{program} is not installed", "apt-get install uidmap"));
            }
            else if (!CanSetIds(path))
            {
                problems.Add(new($"{path} is neither setuid root nor given capabilities",
                    $"chmod u+s {path}"));
            }
        }

        return problems;
    }

    /// <summary>Fails with everything that is missing and the commands that supply it.</summary>
    /// <exception cref="DtvException">DTV9071 when a user namespace cannot be used.</exception>
    public void Require(Func<string, string?> find)
    {
        var problems = FindProblems(find);
        if (problems.Count > 0)
        {
            throw new DtvException("NoUserNamespace", UserName, UserId,
                string.Join("; ", problems.Select(p => p.Problem)),
                string.Join("; ", problems.Select(p => p.Fix).Distinct(StringComparer.Ordinal)));
        }
    }

    private string? Setting(string path) => ReadText(path)?.Trim();

    // A line is NAME_OR_UID:FIRST:COUNT; the user's lines in the file's order.
    private List<(long Start, long Count)> Ranges(string file)
    {
        var uid = UserId.ToString(CultureInfo.InvariantCulture);
        return [.. Lines(file).Where(l => l.Owner == UserName || l.Owner == uid)
            .Select(l => (l.Start, l.Count))];
    }

    private IEnumerable<(string Owner, long Start, long Count)> Lines(string file) =>
        (ReadText(file) ?? string.Empty).Split('\n').Select(l => l.Trim().Split(':'))
            .Where(f => f.Length == 3
                && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)
                && long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Select(f => (f[0], long.Parse(f[1], CultureInfo.InvariantCulture),
                long.Parse(f[2], CultureInfo.InvariantCulture)));

    // Above every range either file gives out, from 100000 as useradd starts.
    private string FreeRange()
    {
        var start = s_rangeFiles.SelectMany(Lines)
            .Select(l => l.Start + l.Count).Append(100_000).Max();
        return $"{start}-{start + RequiredIds - 1}";
    }

    private static bool HasMapAuto(string unshare)
    {
        var start = new System.Diagnostics.ProcessStartInfo(unshare, "--help")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start);
        if (process is null)
        {
            return false;
        }

        var help = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return help.Contains("--map-auto", StringComparison.Ordinal);
    }

    private static string? ReadFile(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsSetuidOrCapable(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.UnixFileMode.HasFlag(UnixFileMode.SetUser))
        {
            return true;
        }

        // Some distributions give newuidmap the capability to set ids instead of setuid.
        var name = Encoding.UTF8.GetBytes("security.capability\0");
        return GetExtendedAttribute(Encoding.UTF8.GetBytes(path + "\0"), name, null, 0) > 0;
    }

    [DllImport("libc.so.6", EntryPoint = "getxattr", SetLastError = true)]
    private static extern nint GetExtendedAttribute(byte[] path, byte[] name, byte[]? value,
        nuint size);
}
