using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace DockerToVms.IntegrationTests.Robustness;

/// <summary>
/// A mirror on 127.0.0.1 that passes requests on to the real Debian mirror, but answers some
/// of them badly the first time: 503 for the first request of each path a rule names, and a
/// dropped connection for the first package requested. It sends only to the Debian mirror.
/// </summary>
public sealed class FlakyMirror : IDisposable
{
    private const string Upstream = "http://deb.debian.org/debian/";

    private readonly HttpListener _listener = new();
    private readonly HttpClient _upstream = new() { Timeout = TimeSpan.FromMinutes(2) };
    private readonly Func<string, bool> _failFirst;
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
    private readonly Task _serving;
    private int _dropped;

    /// <summary>Starts the mirror; paths for which the rule is true fail once with 503.</summary>
    public FlakyMirror(Func<string, bool> failFirst)
    {
        _failFirst = failFirst;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        Address = $"http://127.0.0.1:{port}/debian";
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>The mirror's URL, for BaseImageMirror.</summary>
    public string Address { get; }

    /// <summary>How many times a path (below /debian/) was asked for.</summary>
    public int RequestsFor(Func<string, bool> path) =>
        _requests.Where(r => path(r.Key)).Sum(r => r.Value);

    /// <summary>How many requests were answered with 503 or a dropped connection.</summary>
    public int Failed { get; private set; }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException
                or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var path = context.Request.Url!.AbsolutePath;
        var relative = path.StartsWith("/debian/", StringComparison.Ordinal) ? path[8..] : path;
        var count = _requests.AddOrUpdate(relative, 1, (_, n) => n + 1);
        try
        {
            if (count == 1 && _failFirst(relative))
            {
                Failed++;
                context.Response.StatusCode = 503;
                context.Response.Close();
                return;
            }

            if (relative.EndsWith(".deb", StringComparison.Ordinal)
                && Interlocked.Exchange(ref _dropped, 1) == 0)
            {
                Failed++;
                context.Response.Abort();
                return;
            }

            using var request = new HttpRequestMessage(new HttpMethod(context.Request.HttpMethod),
                Upstream + relative);
            using var answer = await _upstream.SendAsync(request,
                HttpCompletionOption.ResponseHeadersRead);
            context.Response.StatusCode = (int)answer.StatusCode;
            if (answer.Content.Headers.ContentLength is { } length)
            {
                context.Response.ContentLength64 = length;
            }

            if (answer.Content.Headers.LastModified is { } modified)
            {
                context.Response.Headers["Last-Modified"] = modified.ToString("R");
            }

            if (context.Request.HttpMethod != "HEAD")
            {
                await answer.Content.CopyToAsync(context.Response.OutputStream);
            }

            context.Response.Close();
        }
        catch (Exception e) when (e is HttpRequestException or HttpListenerException
            or IOException or ObjectDisposedException or TaskCanceledException)
        {
            context.Response.Abort();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
        _upstream.Dispose();
    }
}
