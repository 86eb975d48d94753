using System.Text;

namespace DockerToVms.Tasks.Sbom;

/// <summary>
/// Package URLs (purl) as scanners match them against vulnerability data:
/// <c>pkg:deb/debian/libc6@2.41-12?arch=amd64&amp;distro=debian-13</c> and
/// <c>pkg:nuget/Newtonsoft.Json@13.0.3</c>. Names, versions and qualifier values are
/// percent-encoded except for letters, digits, <c>. - _ ~</c> and the colon, which the
/// specification leaves as it is (Debian epochs keep their colon; a plus becomes %2B).
/// </summary>
public static class PackageUrl
{
    /// <summary>The purl of a Debian (or Ubuntu) package.</summary>
    public static string Deb(string vendor, string name, string version, string architecture,
        string distro)
    {
        var qualifiers = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (architecture.Length > 0)
        {
            qualifiers["arch"] = architecture;
        }

        if (distro.Length > 0)
        {
            qualifiers["distro"] = distro;
        }

        return Format("deb", vendor.ToLowerInvariant(), name, version, qualifiers);
    }

    /// <summary>The purl of a NuGet package.</summary>
    public static string NuGet(string name, string version) =>
        Format("nuget", null, name, version, new SortedDictionary<string, string>());

    private static string Format(string type, string? vendor, string name, string version,
        SortedDictionary<string, string> qualifiers)
    {
        var text = new StringBuilder("pkg:").Append(type).Append('/');
        if (vendor is not null)
        {
            text.Append(Encode(vendor)).Append('/');
        }

        text.Append(Encode(name));
        if (version.Length > 0)
        {
            text.Append('@').Append(Encode(version));
        }

        var separator = '?';
        foreach (var (key, value) in qualifiers)
        {
            text.Append(separator).Append(key).Append('=').Append(Encode(value));
            separator = '&';
        }

        return text.ToString();
    }

    /// <summary>Percent-encodes all but letters, digits, <c>. - _ ~</c> and <c>:</c>.</summary>
    public static string Encode(string value)
    {
        var text = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '~' or ':')
            {
                text.Append(c);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}
