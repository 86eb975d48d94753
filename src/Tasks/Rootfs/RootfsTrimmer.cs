using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>How much of a bootstrapped root filesystem to remove.</summary>
public enum TrimLevel
{
    /// <summary>Nothing is removed: the customised root filesystem as it is.</summary>
    None,

    /// <summary>Removes what a running container never reads; package data is kept.</summary>
    Slim,

    /// <summary>
    /// Only the files the published app needs (distroless). The cached root filesystem is
    /// trimmed as for <see cref="Slim"/>; the app's own base is derived from it after publish.
    /// </summary>
    App,
}

/// <summary>
/// Removes what a container never needs from a root filesystem: package lists and caches,
/// documentation other than copyright files, manual and info pages, translations, compiled
/// locales other than C.UTF-8, logs, ldconfig's auxiliary cache, /boot, the machine's
/// identity and the build machine's network files. The package status stays, so scanners
/// still see what is installed, and so does /etc/ld.so.cache, which the loader reads each
/// time a program starts.
/// </summary>
public static class RootfsTrimmer
{
    private static readonly string[] s_emptied =
    [
        "var/lib/apt/lists", "var/cache/apt", "var/cache/debconf", "var/cache/ldconfig",
        "var/log", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
        "usr/share/linda", "boot", "tmp", "var/tmp", "debootstrap",
    ];

    private static readonly string[] s_removed =
    [
        "var/lib/dbus/machine-id", "var/lib/dpkg/status-old", "var/lib/dpkg/available-old",
        "var/lib/dpkg/diversions-old", "var/lib/dpkg/statoverride-old",
        "var/cache/debconf/config.dat-old", "var/cache/debconf/templates.dat-old",
        "etc/apt/apt.conf.d/01autoremove-kernels",
    ];

    /// <summary>The trim levels users can choose, by the names they write.</summary>
    public static TrimLevel Parse(string level) => level.ToLowerInvariant() switch
    {
        "none" => TrimLevel.None,
        "" or "slim" => TrimLevel.Slim,
        "app" => TrimLevel.App,
        _ => throw new DtvException("TrimLevelUnknown", level, "none, slim, app"),
    };

    /// <summary>Trims the root filesystem and returns the number of bytes removed.</summary>
    public static long Trim(string root, TrimLevel level)
    {
        var removed = 0L;

        // Files the build machine lent or left: debootstrap copies its resolver and names.
        WriteFile(root, "etc/resolv.conf", string.Empty);
        WriteFile(root, "etc/hostname", "localhost\n");
        WriteFile(root, "etc/hosts",
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");

        // An empty machine-id tells systemd to make one at first boot, so no two machines or
        // containers share the one generated at build time.
        WriteFile(root, "etc/machine-id", string.Empty);
        if (level == TrimLevel.None)
        {
            return removed;
        }

        foreach (var relative in s_emptied)
        {
            if (IsFreeOfLinks(root, relative))
            {
                removed += EmptyDirectory(Path.Combine(root, relative), keepDirectories: true);
            }
        }

        foreach (var relative in s_removed)
        {
            // The file itself may be a link: removing a link does not touch its target.
            if (IsFreeOfLinks(root, Path.GetDirectoryName(relative)!))
            {
                removed += RemoveFile(Path.Combine(root, relative));
            }
        }

        // Compiled locales other than C.UTF-8, which the C library carries itself; .NET takes
        // its culture data from ICU, not from these.
        var locales = Path.Combine(root, "usr/lib/locale");
        if (IsFreeOfLinks(root, "usr/lib/locale") && Directory.Exists(locales))
        {
            foreach (var entry in new DirectoryInfo(locales).EnumerateFileSystemInfos())
            {
                if (entry.Name is "C.utf8" or "C.UTF-8")
                {
                    continue;
                }

                removed += entry is DirectoryInfo && entry.LinkTarget is null
                    ? EmptyDirectory(entry.FullName, keepDirectories: false)
                    : RemoveFile(entry.FullName);
            }
        }

        // Copyright files stay: their licences require them and scanners read them.
        var docs = Path.Combine(root, "usr/share/doc");
        if (IsFreeOfLinks(root, "usr/share/doc") && Directory.Exists(docs))
        {
            foreach (var path in EnumerateFiles(docs))
            {
                if (Path.GetFileName(path) != "copyright")
                {
                    removed += RemoveFile(path);
                }
            }
        }

        return removed;
    }

    private static long EmptyDirectory(string directory, bool keepDirectories)
    {
        if (!Directory.Exists(directory) || new DirectoryInfo(directory).LinkTarget is not null)
        {
            return 0;
        }

        var removed = 0L;
        foreach (var path in EnumerateFiles(directory))
        {
            removed += RemoveFile(path);
        }

        if (!keepDirectories)
        {
            Directory.Delete(directory, recursive: true);
        }

        return removed;
    }

    // Walks without following links to directories, so nothing outside the tree is touched;
    // a link itself is listed like a file and removed as one.
    private static IEnumerable<string> EnumerateFiles(string directory)
    {
        var pending = new Stack<DirectoryInfo>([new DirectoryInfo(directory)]);
        while (pending.Count > 0)
        {
            foreach (var entry in pending.Pop().EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo folder && entry.LinkTarget is null)
                {
                    pending.Push(folder);
                }
                else
                {
                    yield return entry.FullName;
                }
            }
        }
    }

    private static long RemoveFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists && info.LinkTarget is null)
        {
            return 0;
        }

        var size = info.LinkTarget is null ? info.Length : 0;
        info.Delete();
        return size;
    }

    // Whether no part of the relative path is a symbolic link. A link in the image is meant
    // for the image's root; followed from the build machine, it could lead to its files.
    internal static bool IsFreeOfLinks(string root, string relative)
    {
        var path = root;
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            path = Path.Combine(path, part);
            if (new FileInfo(path).LinkTarget is not null)
            {
                return false;
            }
        }

        return true;
    }

    private static void WriteFile(string root, string relative, string content)
    {
        var path = Path.Combine(root, relative);
        if (!IsFreeOfLinks(root, Path.GetDirectoryName(relative)!)
            || !Directory.Exists(Path.GetDirectoryName(path)))
        {
            return;
        }

        // A link here could point at the build machine's own file; replace the link itself.
        if (new FileInfo(path).LinkTarget is not null)
        {
            File.Delete(path);
        }

        File.WriteAllText(path, content, HostTools.Utf8);
    }
}
