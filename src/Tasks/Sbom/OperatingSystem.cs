namespace DockerToVms.Tasks.Sbom;

/// <summary>
/// The distribution of a root filesystem, from its <c>os-release</c>: the vendor that names
/// Debian packages in purls (<c>ID</c>, such as <c>debian</c>) and the <c>distro</c>
/// qualifier scanners use to pick the right advisories (<c>debian-13</c>; the codename
/// when a release has no number yet, as testing has not).
/// </summary>
/// <param name="Id">The distribution's id, such as <c>debian</c>.</param>
/// <param name="Version">Its version number, or its codename, or empty.</param>
/// <param name="Name">Its full name, such as <c>Debian GNU/Linux 13 (trixie)</c>.</param>
public sealed record OperatingSystem(string Id, string Version, string Name)
{
    /// <summary>The qualifier value, such as <c>debian-13</c>; empty when unknown.</summary>
    public string Distro => Version.Length > 0 ? $"{Id}-{Version}" : string.Empty;

    /// <summary>Reads the distribution of the root filesystem; Debian when it does not say.</summary>
    public static OperatingSystem Read(string root)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (OsReleaseFile(root) is { } path)
        {
            foreach (var line in File.ReadLines(path))
            {
                var equals = line.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && !line.StartsWith('#'))
                {
                    fields[line[..equals].Trim()] = line[(equals + 1)..].Trim().Trim('"', '\'');
                }
            }
        }

        var id = fields.GetValueOrDefault("ID", "debian");
        var version = fields.GetValueOrDefault("VERSION_ID",
            fields.GetValueOrDefault("VERSION_CODENAME", string.Empty));
        return new OperatingSystem(id, version, fields.GetValueOrDefault("PRETTY_NAME", id));
    }

    // /etc/os-release is usually a link to /usr/lib/os-release; the link is not followed, as
    // an absolute one would lead to the build machine's own file.
    private static string? OsReleaseFile(string root)
    {
        foreach (var relative in new[] { "etc/os-release", "usr/lib/os-release" })
        {
            var file = new FileInfo(Path.Combine(root, relative));
            if (file.Exists && file.LinkTarget is null)
            {
                return file.FullName;
            }
        }

        return null;
    }
}
