namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// Finds shared libraries in a root filesystem in the order the GNU dynamic loader looks for
/// them: the requester's DT_RPATH (when it has no DT_RUNPATH), its DT_RUNPATH, the directories
/// ldconfig caches (from /etc/ld.so.conf and what it includes), then /lib and /usr/lib. A
/// candidate for another processor or word size is passed over, as the loader does. The
/// glibc-hwcaps subdirectories the loader also tries are not searched: Debian's minbase has
/// none, and a library found only there is reported missing.
/// </summary>
public sealed class LibrarySearch
{
    private readonly ImageRoot _root;
    private readonly IReadOnlyList<string> _systemDirectories;
    private readonly Func<string, bool> _fits;

    /// <summary>Reads the search directories of the root filesystem.</summary>
    /// <param name="root">The root filesystem.</param>
    /// <param name="fits">Whether a file on the build machine is for the image's processor.</param>
    public LibrarySearch(ImageRoot root, Func<string, bool> fits)
    {
        _root = root;
        _fits = fits;
        var directories = new List<string>();
        ReadConfiguration("/etc/ld.so.conf", directories, depth: 0);
        directories.AddRange(["/lib", "/usr/lib"]);
        _systemDirectories = [.. directories.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The directories searched after a requester's own paths, in order.</summary>
    public IReadOnlyList<string> SystemDirectories => _systemDirectories;

    /// <summary>
    /// Finds a library a file needs. <paramref name="origin"/> is the image directory of the
    /// requester, for <c>$ORIGIN</c> in its paths, or null when the requester is not in the
    /// root filesystem. Links on the way are added to <paramref name="links"/>. Returns the
    /// library's image path, or null.
    /// </summary>
    public string? Find(string name, ElfObject requester, string? origin,
        ICollection<string> links)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return Candidate(name.StartsWith('/') ? name : ImageRoot.Join(origin ?? "/", name),
                links);
        }

        var own = requester.RunPath.Count > 0
            ? requester.RunPath
            : requester.RPath;
        foreach (var directory in own.Concat(_systemDirectories))
        {
            if (directory.Contains("$ORIGIN", StringComparison.Ordinal)
                || directory.Contains("${ORIGIN}", StringComparison.Ordinal))
            {
                if (origin is null)
                {
                    continue;
                }

                var expanded = directory.Replace("${ORIGIN}", origin, StringComparison.Ordinal)
                    .Replace("$ORIGIN", origin, StringComparison.Ordinal);
                if (Candidate(ImageRoot.Join(expanded, name), links) is { } fromOrigin)
                {
                    return fromOrigin;
                }

                continue;
            }

            if (directory.StartsWith('/') && Candidate(ImageRoot.Join(directory, name), links)
                is { } found)
            {
                return found;
            }
        }

        return null;
    }

    // Links are recorded only for the candidate that is taken.
    private string? Candidate(string imagePath, ICollection<string> links)
    {
        var tried = new List<string>();
        var resolved = _root.Resolve(imagePath, tried);
        if (resolved is null || _root.IsDirectory(resolved) || !_fits(_root.HostPath(resolved)))
        {
            return null;
        }

        foreach (var link in tried)
        {
            links.Add(link);
        }

        return resolved;
    }

    private void ReadConfiguration(string imagePath, List<string> directories, int depth)
    {
        var path = _root.Resolve(imagePath, new List<string>());
        if (path is null || depth > 8 || _root.IsDirectory(path))
        {
            return;
        }

        foreach (var raw in File.ReadLines(_root.HostPath(path)))
        {
            var line = raw.Split('#')[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("include", StringComparison.Ordinal) && line.Length > 7
                && char.IsWhiteSpace(line[7]))
            {
                foreach (var pattern in line[8..].Split(' ', '\t')
                    .Where(p => p.Length > 0))
                {
                    foreach (var included in Expand(pattern, ImageRoot.Parent(imagePath)))
                    {
                        ReadConfiguration(included, directories, depth + 1);
                    }
                }

                continue;
            }

            // Old configurations may append a library type after '='; the path comes first.
            directories.Add(line.Split('=')[0].Trim().TrimEnd('/'));
        }
    }

    // ldconfig takes shell patterns; the configurations distributions ship use '*' in the
    // last part only, which is all this supports.
    private IEnumerable<string> Expand(string pattern, string relativeTo)
    {
        var absolute = pattern.StartsWith('/') ? pattern : ImageRoot.Join(relativeTo, pattern);
        var directory = ImageRoot.Parent(absolute);
        var name = absolute[(absolute.LastIndexOf('/') + 1)..];
        var resolved = _root.Resolve(directory, new List<string>());
        if (resolved is null || !_root.IsDirectory(resolved))
        {
            return [];
        }

        return System.IO.Directory.EnumerateFileSystemEntries(_root.HostPath(resolved), name)
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)
            .Select(file => ImageRoot.Join(directory, file!));
    }
}
