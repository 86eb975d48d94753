using System.Text.RegularExpressions;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Recipe;

/// <summary>
/// Checks of recipe and image settings that need no tool and no network, shared by the tasks
/// that take those settings so each rejects bad input before it starts work.
/// </summary>
public static partial class RecipeValidation
{
    /// <summary>Throws DTV1001 unless the suite is a plausible codename or alias.</summary>
    public static void Suite(string suite)
    {
        if (!SuitePattern().IsMatch(suite))
        {
            throw new DtvException("SuiteInvalid", suite);
        }
    }

    /// <summary>Throws DTV1003 unless the mirror is an absolute http, https or file URL.</summary>
    public static Uri Mirror(string mirror)
    {
        // debootstrap recognises a mirror by its scheme written in lower case; .NET would
        // also take a bare path as a file URL and an upper-case scheme, debootstrap would not.
        if (!Uri.TryCreate(mirror, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https" or "file")
            || !mirror.StartsWith(uri.Scheme + ":", StringComparison.Ordinal))
        {
            throw new DtvException("MirrorInvalid", mirror);
        }

        return uri;
    }

    /// <summary>Throws DTV1005 unless Debian has the architecture.</summary>
    public static void Architecture(string architecture)
    {
        if (!DebianArchitecture.Known.Contains(architecture))
        {
            throw new DtvException("ArchitectureUnknown", architecture,
                string.Join(", ", DebianArchitecture.Known));
        }
    }

    /// <summary>Throws DTV9002 unless the runtime identifier maps to a Debian architecture.</summary>
    public static string RuntimeIdentifier(string runtimeIdentifier) =>
        DebianArchitecture.FromRuntimeIdentifier(runtimeIdentifier)
            ?? throw new DtvException("RuntimeIdentifierUnsupported", runtimeIdentifier,
                string.Join(", ", DebianArchitecture.SupportedRuntimeIdentifiers));

    /// <summary>Throws DTV1011 unless every name is a valid Debian package name.</summary>
    public static void PackageNames(IEnumerable<string> names, string setting)
    {
        var bad = names.Where(n => !PackagePattern().IsMatch(n)).ToList();
        if (bad.Count > 0)
        {
            throw new DtvException("PackageNameInvalid", string.Join(", ", bad), setting);
        }
    }

    /// <summary>Throws DTV1012 unless every component is a plain archive component name.</summary>
    public static void Components(IEnumerable<string> components)
    {
        foreach (var component in components)
        {
            if (!ComponentPattern().IsMatch(component))
            {
                throw new DtvException("ComponentInvalid", component);
            }
        }
    }

    /// <summary>Throws DTV3003 unless the name is a valid image repository.</summary>
    public static void Repository(string repository)
    {
        if (repository.Length is 0 or > 255 || !RepositoryPattern().IsMatch(repository))
        {
            throw new DtvException("RepositoryInvalid", repository);
        }
    }

    /// <summary>Throws DTV3004 unless the tag is a valid image tag.</summary>
    public static void Tag(string tag)
    {
        if (!TagPattern().IsMatch(tag))
        {
            throw new DtvException("TagInvalid", tag);
        }
    }

    /// <summary>Throws DTV3007 unless the port is a number from 1 to 65535 with tcp or udp.</summary>
    public static void Port(string port, string type)
    {
        if (!int.TryParse(port, out var number) || number is < 1 or > 65535
            || type is not ("tcp" or "udp"))
        {
            throw new DtvException("PortInvalid", port, type);
        }
    }

    /// <summary>Throws DTV3008 unless the name is a usable environment variable name.</summary>
    public static void EnvironmentVariableName(string name)
    {
        if (!EnvironmentNamePattern().IsMatch(name))
        {
            throw new DtvException("EnvironmentVariableInvalid", name);
        }
    }

    /// <summary>Throws DTV3010 unless the user is a name, a uid, or name/uid with a group.</summary>
    public static void User(string user)
    {
        if (user.Length > 0 && !UserPattern().IsMatch(user))
        {
            throw new DtvException("UserInvalid", user);
        }
    }

    /// <summary>Throws DTV2007 unless the path is absolute and has no <c>..</c> part.</summary>
    public static void PathInImage(string path, string setting)
    {
        if (!path.StartsWith('/') || path.Split('/').Contains("..") || path.Contains('\0'))
        {
            throw new DtvException("PathInImageInvalid", path, setting);
        }
    }

    /// <summary>Throws DTV2009 unless the mode is empty or octal permissions such as 0755.</summary>
    public static void FileMode(string mode, string item)
    {
        if (mode.Length > 0 && !FileModePattern().IsMatch(mode))
        {
            throw new DtvException("FileModeInvalid", mode, item);
        }
    }

    /// <summary>Whether a user setting names an account the base must create.</summary>
    public static bool NeedsAccount(string user)
    {
        var name = user.Split(':')[0];
        return name.Length > 0 && name != "root" && !name.All(char.IsAsciiDigit);
    }

    [GeneratedRegex("^0?[0-7]{3,4}$")]
    private static partial Regex FileModePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9.+-]{0,63}$")]
    private static partial Regex SuitePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9.+-]+$")]
    private static partial Regex PackagePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$")]
    private static partial Regex ComponentPattern();

    // The reference grammar of the distribution specification, without a registry host.
    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvironmentNamePattern();

    [GeneratedRegex("^([a-z_][a-z0-9_-]{0,31}|[0-9]+)(:([a-z_][a-z0-9_-]{0,31}|[0-9]+))?$")]
    private static partial Regex UserPattern();
}
