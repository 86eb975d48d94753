namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// A root filesystem on the build machine, seen the way a process inside it sees it: absolute
/// paths and symbolic links are resolved against its root, never against the build machine's.
/// Paths inside it are written as the image sees them, starting with <c>/</c>.
/// </summary>
public sealed class ImageRoot
{
    // The kernel gives up after 40 links in one lookup; so does this.
    private const int MaxLinks = 40;

    /// <summary>Opens the root filesystem in the given directory.</summary>
    public ImageRoot(string directory) => Directory = Path.GetFullPath(directory);

    /// <summary>The root filesystem's directory on the build machine.</summary>
    public string Directory { get; }

    /// <summary>The build machine's path of a path inside the image (links not followed).</summary>
    public string HostPath(string imagePath) =>
        Path.Combine(Directory, imagePath.TrimStart('/'));

    /// <summary>Whether the path exists in the image as a file, directory or link.</summary>
    public bool Exists(string imagePath)
    {
        var info = new FileInfo(HostPath(imagePath));
        return info.Exists || info.LinkTarget is not null
            || System.IO.Directory.Exists(info.FullName);
    }

    /// <summary>
    /// Resolves a path inside the image to the file or directory it names, following links
    /// the way the kernel does. Every link passed on the way is added to <paramref name="links"/>,
    /// since an image that keeps the target must keep them too for the path to work. Returns
    /// null when the path does not exist in the image.
    /// </summary>
    public string? Resolve(string imagePath, ICollection<string> links)
    {
        var budget = MaxLinks;
        return Resolve(imagePath, links, ref budget);
    }

    private string? Resolve(string imagePath, ICollection<string> links, ref int budget)
    {
        var current = "/";
        foreach (var part in imagePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Parent(current);
                continue;
            }

            var next = Join(current, part);
            var info = new FileInfo(HostPath(next));
            if (info.LinkTarget is { } target)
            {
                if (--budget < 0)
                {
                    return null;
                }

                links.Add(next);
                var resolved = Resolve(target.StartsWith('/') ? target : Join(current, target),
                    links, ref budget);
                if (resolved is null)
                {
                    return null;
                }

                current = resolved;
            }
            else if (info.Exists || System.IO.Directory.Exists(info.FullName))
            {
                current = next;
            }
            else
            {
                return null;
            }
        }

        return current;
    }

    /// <summary>Whether the path (without following a link at its end) is a directory.</summary>
    public bool IsDirectory(string imagePath)
    {
        var info = new DirectoryInfo(HostPath(imagePath));
        return info.Exists && info.LinkTarget is null;
    }

    /// <summary>
    /// Every entry below a directory of the image, links listed but not followed, as image
    /// paths.
    /// </summary>
    public IEnumerable<string> EnumerateTree(string imageDirectory)
    {
        var pending = new Stack<string>([imageDirectory]);
        while (pending.Count > 0)
        {
            var directory = pending.Pop();
            var host = new DirectoryInfo(HostPath(directory));
            foreach (var entry in host.EnumerateFileSystemInfos())
            {
                var path = Join(directory, entry.Name);
                yield return path;
                if (entry is DirectoryInfo && entry.LinkTarget is null)
                {
                    pending.Push(path);
                }
            }
        }
    }

    /// <summary>Joins an image directory and a relative path.</summary>
    public static string Join(string directory, string relative) =>
        directory.EndsWith('/') ? directory + relative : directory + "/" + relative;

    /// <summary>The parent of an image path; the root is its own parent.</summary>
    public static string Parent(string imagePath)
    {
        var slash = imagePath.TrimEnd('/').LastIndexOf('/');
        return slash <= 0 ? "/" : imagePath[..slash];
    }

    /// <summary>Every directory above an image path, the root left out.</summary>
    public static IEnumerable<string> Ancestors(string imagePath)
    {
        for (var parent = Parent(imagePath); parent != "/"; parent = Parent(parent))
        {
            yield return parent;
        }
    }
}
