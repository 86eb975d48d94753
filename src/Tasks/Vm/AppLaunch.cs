using System.Globalization;
using System.Text;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// How the VM's init starts the app: the container image's command and arguments,
/// environment, working directory and user, resolved to numeric ids against the root
/// filesystem's own accounts, plus the kernel modules to load first. Written as the
/// NUL-separated <c>key=value</c> records the init reads from /etc/dockertovms/app.conf.
/// </summary>
public sealed record AppLaunch(IReadOnlyList<string> Command, IReadOnlyList<string> Environment,
    string WorkingDirectory, uint UserId, uint GroupId, IReadOnlyList<string> Modules)
{
    /// <summary>Where the init looks for the launch settings.</summary>
    public const string PathInRoot = "etc/dockertovms/app.conf";

    /// <summary>
    /// The launch of an image: <paramref name="environment"/> is the image's (NAME=VALUE);
    /// HOME is added from the user's account when the image sets none, as a container runtime
    /// does when it starts the image.
    /// </summary>
    public static AppLaunch For(string rootDirectory, IReadOnlyList<string> command,
        IReadOnlyList<string> environment, string workingDirectory, string user,
        IReadOnlyList<string> modules)
    {
        var (uid, gid, home) = ResolveUser(rootDirectory, user);
        var env = environment.ToList();
        if (!env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal)))
        {
            env.Add("HOME=" + home);
        }

        return new AppLaunch(command, env, workingDirectory.Length == 0 ? "/" : workingDirectory,
            uid, gid, modules);
    }

    /// <summary>The numeric user, group and home directory of a user as the image names it:
    /// <c>name</c>, <c>uid</c>, <c>name:group</c> or <c>uid:gid</c>.</summary>
    public static (uint User, uint Group, string Home) ResolveUser(string rootDirectory,
        string user)
    {
        var parts = user.Split(':', 2);
        var passwd = Accounts(rootDirectory, "etc/passwd");
        uint uid = 0, gid = 0;
        var home = "/";
        if (parts[0].Length > 0)
        {
            var account = passwd.FirstOrDefault(a => a[0] == parts[0]
                || (IsNumeric(parts[0]) && a.Length > 2 && a[2] == parts[0]));
            if (account is null && !IsNumeric(parts[0]))
            {
                throw new DtvException("ContainerUserMissing", parts[0], user);
            }

            uid = account is null ? Parse(parts[0]) : Parse(account[2]);
            gid = account is { Length: > 3 } ? Parse(account[3]) : 0;
            home = account is { Length: > 5 } && account[5].Length > 0 ? account[5] : "/";
        }

        if (parts.Length == 2 && parts[1].Length > 0)
        {
            var group = Accounts(rootDirectory, "etc/group").FirstOrDefault(g => g[0] == parts[1]);
            if (group is null && !IsNumeric(parts[1]))
            {
                throw new DtvException("ContainerGroupMissing", parts[1], user);
            }

            gid = group is { Length: > 2 } ? Parse(group[2]) : Parse(parts[1]);
        }

        return (uid, gid, home);
    }

    /// <summary>The records the init reads.</summary>
    public byte[] ToBytes()
    {
        var records = new StringBuilder();
        void Add(string key, string value) => records.Append(key).Append('=').Append(value)
            .Append('\0');

        foreach (var module in Modules)
        {
            Add("module", module);
        }

        foreach (var word in Command)
        {
            Add("arg", word);
        }

        foreach (var variable in Environment)
        {
            Add("env", variable);
        }

        Add("workdir", WorkingDirectory);
        Add("uid", UserId.ToString(CultureInfo.InvariantCulture));
        Add("gid", GroupId.ToString(CultureInfo.InvariantCulture));
        return Encoding.UTF8.GetBytes(records.ToString());
    }

    /// <summary>Reads records written by <see cref="ToBytes"/>.</summary>
    public static AppLaunch Parse(byte[] bytes)
    {
        var records = Encoding.UTF8.GetString(bytes).Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(r => r.Split('=', 2))
            .ToList();
        List<string> Values(string key) => [.. records.Where(r => r[0] == key).Select(r => r[1])];
        string Value(string key) => Values(key).LastOrDefault() ?? string.Empty;
        return new AppLaunch(Values("arg"), Values("env"), Value("workdir"), Parse(Value("uid")),
            Parse(Value("gid")), Values("module"));
    }

    private static bool IsNumeric(string value) =>
        value.Length > 0 && value.All(char.IsAsciiDigit);

    private static uint Parse(string value) =>
        uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    // Read only when a real file of the tree: a link could lead to the build machine's own.
    private static List<string[]> Accounts(string root, string relative)
    {
        var file = new FileInfo(Path.Combine(root, relative));
        return file.Exists && file.LinkTarget is null
               && new DirectoryInfo(Path.Combine(root, "etc")).LinkTarget is null
            ? [.. File.ReadLines(file.FullName).Select(l => l.Split(':')).Where(a => a[0].Length > 0)]
            : [];
    }
}
