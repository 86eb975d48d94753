using Docker.DotNet;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Docker;

/// <summary>Opens a client for the Docker daemon and checks that it answers.</summary>
public static class DockerConnection
{
    /// <summary>The daemon's address when neither the build nor DOCKER_HOST names one.</summary>
    public const string DefaultHost = "unix:///var/run/docker.sock";

    private static readonly TimeSpan s_pingTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The daemon address to use: the given one, else DOCKER_HOST, else the default.</summary>
    public static string Resolve(string? host)
    {
        if (!string.IsNullOrWhiteSpace(host))
        {
            return host;
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("DOCKER_HOST");
        return string.IsNullOrWhiteSpace(fromEnvironment) ? DefaultHost : fromEnvironment;
    }

    /// <summary>
    /// Connects and pings the daemon; throws DTV3001 when it does not answer, DTV3012 when
    /// its socket is not open to this user.
    /// </summary>
    public static async Task<DockerClient> OpenAsync(string? host, CancellationToken cancellation)
    {
        var address = Resolve(host);
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
        {
            throw new DtvException("DaemonUnreachable", address, "not a URL");
        }

        // Importing a root filesystem or a large app can take minutes on a slow disk.
        var client = new DockerClientConfiguration(uri, defaultTimeout: TimeSpan.FromMinutes(30))
            .CreateClient();
        using var ping = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        ping.CancelAfter(s_pingTimeout);
        try
        {
            await client.System.PingAsync(ping.Token).ConfigureAwait(false);
            return client;
        }
        catch (Exception e) when (!cancellation.IsCancellationRequested && IsUnreachable(e))
        {
            client.Dispose();

            // A daemon that runs but is not this user's to use is not a missing daemon: the
            // build must not quietly fall back to an archive.
            if (Innermost(e) is System.Net.Sockets.SocketException
                {
                    SocketErrorCode: System.Net.Sockets.SocketError.AccessDenied,
                })
            {
                throw new DtvException("DaemonAccessDenied", address, Environment.UserName);
            }

            throw new DtvException("DaemonUnreachable", address, Innermost(e).Message);
        }
    }

    private static bool IsUnreachable(Exception e) =>
        e is HttpRequestException or System.Net.Sockets.SocketException or IOException
            or TimeoutException or OperationCanceledException or DockerApiException;

    private static Exception Innermost(Exception e) =>
        e.InnerException is null ? e : Innermost(e.InnerException);
}
