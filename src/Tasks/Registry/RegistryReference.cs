using System.Text.RegularExpressions;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Registry;

/// <summary>
/// Where images go in a registry: its host (with a port, if any), and a repository in it.
/// Registries on the loopback address are spoken to over plain HTTP, every other one over
/// HTTPS unless it is listed as insecure, as the Docker engine does.
/// </summary>
public sealed partial record RegistryReference(string Host, string Repository)
{
    /// <summary>Whether requests go over plain HTTP.</summary>
    public bool Insecure { get; init; }

    /// <summary>The base address of the registry's API, <c>scheme://host/v2/</c>.</summary>
    public Uri ApiRoot => new((Insecure ? "http://" : "https://") + Host + "/v2/");

    /// <summary>The registry and repository, as an image name starts.</summary>
    public override string ToString() => Host + "/" + Repository;

    /// <summary>
    /// Checks a registry host (as ContainerRegistry names it) and a repository, and decides
    /// the scheme.
    /// </summary>
    /// <param name="host">The registry, <c>host</c> or <c>host:port</c>, optionally with a
    /// scheme, which must agree with the rule above.</param>
    /// <param name="repository">The repository in the registry.</param>
    /// <param name="insecureHosts">Hosts that may be spoken to over plain HTTP.</param>
    /// <exception cref="DtvException">DTV3133 for a registry that is not a host name, DTV3134
    /// for a repository name the distribution API refuses.</exception>
    public static RegistryReference Create(string host, string repository,
        IEnumerable<string>? insecureHosts = null)
    {
        var trimmed = host.Trim().TrimEnd('/');
        var scheme = string.Empty;
        var separator = trimmed.IndexOf("://", StringComparison.Ordinal);
        if (separator >= 0)
        {
            scheme = trimmed[..separator].ToLowerInvariant();
            trimmed = trimmed[(separator + 3)..];
        }

        if (!HostPattern().IsMatch(trimmed) || scheme is not ("" or "http" or "https"))
        {
            throw new DtvException("RegistryHostInvalid", host);
        }

        if (repository.Length is 0 or > 255 || !RepositoryPattern().IsMatch(repository))
        {
            throw new DtvException("RegistryRepositoryInvalid", repository, trimmed);
        }

        var insecure = IsLoopback(trimmed) || (insecureHosts ?? []).Any(h =>
            string.Equals(h.Trim(), trimmed, StringComparison.OrdinalIgnoreCase));
        if (scheme == "http" && !insecure)
        {
            throw new DtvException("RegistryPlainHttpRefused", trimmed);
        }

        return new RegistryReference(trimmed, repository) { Insecure = insecure && scheme != "https" };
    }

    /// <summary>
    /// Splits <c>host[:port]/repository</c>, the form of a cache registry setting, and
    /// checks both parts.
    /// </summary>
    /// <exception cref="DtvException">DTV9065 when there is no repository part.</exception>
    public static RegistryReference Parse(string value, string setting,
        IEnumerable<string>? insecureHosts = null)
    {
        var text = value.Trim();
        var start = text.IndexOf("://", StringComparison.Ordinal);
        var slash = text.IndexOf('/', start < 0 ? 0 : start + 3);
        if (slash <= 0 || slash == text.Length - 1)
        {
            throw new DtvException("RegistryLocationInvalid", value, setting);
        }

        return Create(text[..slash], text[(slash + 1)..], insecureHosts);
    }

    /// <summary>Throws DTV3132 unless the tag is one the distribution API accepts.</summary>
    public static void CheckTag(string tag, RegistryReference registry)
    {
        if (!TagPattern().IsMatch(tag))
        {
            throw new DtvException("RegistryTagInvalid", tag, registry);
        }
    }

    // localhost, 127.0.0.0/8 and ::1: the machine itself, where nothing travels on a network.
    private static bool IsLoopback(string host)
    {
        var name = host.StartsWith('[')
            ? host[1..host.IndexOf(']', StringComparison.Ordinal)]
            : host.Split(':')[0];
        return name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (System.Net.IPAddress.TryParse(name, out var address)
                && System.Net.IPAddress.IsLoopback(address));
    }

    // A host name or IPv4 address with an optional port, or a bracketed IPv6 address.
    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")]
    private static partial Regex HostPattern();

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();
}
