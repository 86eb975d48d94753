using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Verify;

/// <summary>
/// Whether the user the app runs as exists in a root filesystem: a name must be in its
/// <c>/etc/passwd</c> and a group name in its <c>/etc/group</c>; numeric ids need no entry.
/// </summary>
public static class RootfsAccounts
{
    /// <summary>Throws unless the user (<c>name</c>, <c>uid</c>, <c>name:group</c>) exists.</summary>
    /// <exception cref="DtvException">DTV6020 for a missing user, DTV6021 for a missing group.
    /// </exception>
    public static void Check(string rootDirectory, string user)
    {
        var parts = user.Split(':', 2);
        var name = parts[0];
        if (name.Length > 0 && !IsNumeric(name) && !Names(rootDirectory, "etc/passwd").Contains(name))
        {
            throw new DtvException("ContainerUserMissing", name, user);
        }

        if (parts.Length == 2 && parts[1].Length > 0 && !IsNumeric(parts[1])
            && !Names(rootDirectory, "etc/group").Contains(parts[1]))
        {
            throw new DtvException("ContainerGroupMissing", parts[1], user);
        }
    }

    private static bool IsNumeric(string value) => value.All(char.IsAsciiDigit);

    // The account files of the image, read only where they are real files of the tree: a
    // link could lead to the build machine's own accounts.
    private static HashSet<string> Names(string root, string relative)
    {
        var path = Path.Combine(root, relative);
        var etc = new DirectoryInfo(Path.Combine(root, "etc"));
        var file = new FileInfo(path);
        if (etc.LinkTarget is not null || file.LinkTarget is not null || !file.Exists)
        {
            return [];
        }

        return [.. File.ReadLines(path).Select(l => l.Split(':')[0]).Where(n => n.Length > 0)];
    }
}
