using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DockerToVms.IntegrationTests.Registry;

/// <summary>
/// A registry of a test's own: Debian's docker-registry (the distribution project's server)
/// bound to 127.0.0.1 on a free port, storing in a temporary folder, optionally with htpasswd
/// users. Disposing it stops the server and removes the folder.
/// </summary>
public sealed class LocalRegistry : IAsyncDisposable
{
    private const string Program = "/usr/bin/docker-registry";
    private readonly Process _process;
    private readonly string _folder;

    private LocalRegistry(Process process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Host = "127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The registry's address, <c>127.0.0.1:PORT</c>.</summary>
    public string Host { get; }

    /// <summary>Whether the server is installed; tests are inconclusive without it.</summary>
    public static bool IsInstalled => File.Exists(Program);

    /// <summary>Starts a registry and waits until it answers.</summary>
    /// <param name="user">With <paramref name="password"/>: the only user, and login required.</param>
    /// <param name="password">The user's password.</param>
    public static async Task<LocalRegistry> StartAsync(string? user = null,
        string? password = null)
    {
        var folder = Directory.CreateTempSubdirectory("dtv-registry-").FullName;
        var port = FreePort();
        var auth = string.Empty;
        if (user is not null && password is not null)
        {
            // bcrypt, the only hash the server reads.
            var htpasswd = await RunAsync("htpasswd", "-Bbn", user, password);
            await File.WriteAllTextAsync(Path.Combine(folder, "htpasswd"), htpasswd);
            auth = $"""
                auth:
                  htpasswd:
                    realm: dtv-test
                    path: {folder}/htpasswd
                """;
        }

        var config = Path.Combine(folder, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {folder}/data
            http:
              addr: 127.0.0.1:{port}
            {auth}
            """);

        var process = Process.Start(new ProcessStartInfo(Program, ["serve", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var registry = new LocalRegistry(process, folder, port);
        await registry.WaitUntilAnsweringAsync();
        return registry;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task WaitUntilAnsweringAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                break;
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://{Host}/v2/"));
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        await DisposeAsync();
        throw new InvalidOperationException($"{Program} did not answer on {Host}.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<string> RunAsync(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? output
            : throw new InvalidOperationException($"{program} exited with {process.ExitCode}.");
    }
}
