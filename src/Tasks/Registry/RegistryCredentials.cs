using System.Text;
using System.Text.Json;
using CliWrap;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Registry;

/// <summary>
/// A user name and its password or token for one registry. Its text form names only the
/// user and where the credential came from, never the secret, so it is safe in any message.
/// </summary>
public sealed record RegistryCredential(string UserName, string Secret, string Origin)
{
    /// <summary>The user and the origin, without the secret.</summary>
    public override string ToString() => $"user '{UserName}' from {Origin}";

    /// <summary>The value of an HTTP Basic authorization header.</summary>
    public string BasicHeader() =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(UserName + ":" + Secret));
}

/// <summary>Runs <c>docker-credential-NAME get</c> and returns its standard output, or null
/// when the helper knows no credential for the server; a seam for tests.</summary>
public delegate Task<string?> CredentialHelperRunner(string helper, string serverAddress,
    CancellationToken cancellation);

/// <summary>
/// Finds the credential for a registry where the Docker and .NET tools look, in this order:
/// the environment variables <c>DTV_REGISTRY_USER</c> and <c>DTV_REGISTRY_PASSWORD</c>, then
/// the .NET SDK's <c>DOTNET_CONTAINER_REGISTRY_UNAME</c> and
/// <c>DOTNET_CONTAINER_REGISTRY_PWORD</c>, then Docker's configuration
/// (<c>$DOCKER_CONFIG/config.json</c>, else <c>~/.docker/config.json</c>): a credential
/// helper for the registry (<c>credHelpers</c>), an <c>auths</c> entry with a base64
/// <c>auth</c>, then the default helper (<c>credsStore</c>). None gives anonymous access.
/// </summary>
public sealed class RegistryCredentials
{
    private readonly Func<string, string?> _environment;
    private readonly CredentialHelperRunner _helper;

    /// <summary>Reads the process's environment and runs real credential helpers.</summary>
    public RegistryCredentials()
        : this(Environment.GetEnvironmentVariable, RunHelperAsync)
    {
    }

    /// <summary>Reads the given environment and runs helpers through the given runner.</summary>
    public RegistryCredentials(Func<string, string?> environment, CredentialHelperRunner helper)
    {
        _environment = environment;
        _helper = helper;
    }

    /// <summary>The credential for the registry host, or null for anonymous access.</summary>
    /// <exception cref="DtvException">DTV3138 when a configured helper fails or is missing,
    /// DTV9066 when Docker's configuration cannot be read.</exception>
    public async Task<RegistryCredential?> FindAsync(string host, CancellationToken cancellation)
    {
        foreach (var (userVariable, passwordVariable) in new[]
        {
            ("DTV_REGISTRY_USER", "DTV_REGISTRY_PASSWORD"),
            ("DOTNET_CONTAINER_REGISTRY_UNAME", "DOTNET_CONTAINER_REGISTRY_PWORD"),
        })
        {
            var user = _environment(userVariable);
            var password = _environment(passwordVariable);
            if (!string.IsNullOrEmpty(user) && !string.IsNullOrEmpty(password))
            {
                return new RegistryCredential(user, password,
                    $"{userVariable} and {passwordVariable}");
            }
        }

        var configFile = DockerConfigFile();
        if (configFile is null || !File.Exists(configFile))
        {
            return null;
        }

        JsonDocument config;
        try
        {
            config = JsonDocument.Parse(await File.ReadAllBytesAsync(configFile, cancellation)
                .ConfigureAwait(false));
        }
        catch (Exception e) when (e is JsonException or IOException
            or UnauthorizedAccessException)
        {
            throw new DtvException("DockerConfigInvalid", configFile, e.Message);
        }

        using (config)
        {
            var root = config.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new DtvException("DockerConfigInvalid", configFile, "not a JSON object");
            }

            if (FindByHost(root, "credHelpers", host) is { ValueKind: JsonValueKind.String } named)
            {
                return await FromHelperAsync(named.GetString()!, host, cancellation)
                    .ConfigureAwait(false);
            }

            if (FindByHost(root, "auths", host) is { ValueKind: JsonValueKind.Object } entry
                && entry.TryGetProperty("auth", out var auth)
                && auth.GetString() is { Length: > 0 } encoded)
            {
                return Decode(encoded, configFile);
            }

            if (root.TryGetProperty("credsStore", out var store)
                && store.GetString() is { Length: > 0 } defaultHelper)
            {
                return await FromHelperAsync(defaultHelper, host, cancellation)
                    .ConfigureAwait(false);
            }
        }

        return null;
    }

    private string? DockerConfigFile()
    {
        var folder = _environment("DOCKER_CONFIG");
        if (!string.IsNullOrEmpty(folder))
        {
            return Path.Combine(folder, "config.json");
        }

        var home = _environment("HOME");
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".docker", "config.json");
    }

    // Keys are written as the host, or as a URL of it ("https://host/v1/"), by docker login.
    private static JsonElement? FindByHost(JsonElement root, string section, string host)
    {
        if (!root.TryGetProperty(section, out var entries)
            || entries.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var entry in entries.EnumerateObject())
        {
            if (string.Equals(HostOf(entry.Name), host, StringComparison.OrdinalIgnoreCase))
            {
                return entry.Value;
            }
        }

        return null;
    }

    private static string HostOf(string key)
    {
        var start = key.IndexOf("://", StringComparison.Ordinal);
        var rest = start < 0 ? key : key[(start + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? rest : rest[..slash];
    }

    private static RegistryCredential Decode(string encoded, string configFile)
    {
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        catch (FormatException)
        {
            throw new DtvException("DockerConfigInvalid", configFile,
                "an 'auth' value is not base64");
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon <= 0
            ? throw new DtvException("DockerConfigInvalid", configFile,
                "an 'auth' value is not base64 of 'user:password'")
            : new RegistryCredential(text[..colon], text[(colon + 1)..], configFile);
    }

    private async Task<RegistryCredential?> FromHelperAsync(string helper, string host,
        CancellationToken cancellation)
    {
        var output = await _helper(helper, host, cancellation).ConfigureAwait(false);
        if (output is null)
        {
            return null;
        }

        try
        {
            using var answer = JsonDocument.Parse(output);
            var user = answer.RootElement.GetProperty("Username").GetString();
            var secret = answer.RootElement.GetProperty("Secret").GetString();
            return string.IsNullOrEmpty(user) || string.IsNullOrEmpty(secret)
                ? null
                : new RegistryCredential(user, secret, "docker-credential-" + helper);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException
            or InvalidOperationException)
        {
            // The answer is not quoted: it would hold the secret.
            throw new DtvException("CredentialHelperFailed", "docker-credential-" + helper,
                host, "its answer is not the JSON of a credential");
        }
    }

    // The server's address goes in on standard input, the credential comes back on standard
    // output; neither is logged. A helper that has nothing for the server says so and exits
    // with 1, which means anonymous access, not a failure.
    private static async Task<string?> RunHelperAsync(string helper, string serverAddress,
        CancellationToken cancellation)
    {
        var program = "docker-credential-" + helper;
        var output = new StringBuilder();
        var error = new StringBuilder();
        CommandResult result;
        try
        {
            result = await Cli.Wrap(program)
                .WithArguments("get")
                .WithStandardInputPipe(PipeSource.FromString(serverAddress))
                .WithStandardOutputPipe(PipeTarget.ToStringBuilder(output))
                .WithStandardErrorPipe(PipeTarget.ToStringBuilder(error))
                .WithValidation(CommandResultValidation.None)
                .ExecuteAsync(cancellation)
                .ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new DtvException("CredentialHelperFailed", program, serverAddress, e.Message);
        }

        if (result.ExitCode == 0)
        {
            return output.ToString();
        }

        var said = (output.ToString() + error).Trim();
        return said.Contains("not found", StringComparison.OrdinalIgnoreCase)
            ? null
            : throw new DtvException("CredentialHelperFailed", program, serverAddress,
                $"exit code {result.ExitCode}");
    }
}
