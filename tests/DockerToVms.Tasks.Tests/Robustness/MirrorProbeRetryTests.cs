using System.Net;
using System.Net.Sockets;
using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Tests.Robustness;

/// <summary>The mirror check asks a busy mirror again, a bounded number of times.</summary>
[TestClass]
public sealed class MirrorProbeRetryTests : IDisposable
{
    private readonly SocketsHttpHandler _handler =
        new() { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) };

    private readonly List<TimeSpan> _waits = [];

    public void Dispose() => _handler.Dispose();

    private MirrorProbe Probe() => new(_handler)
    {
        Delay = (wait, _) =>
        {
            _waits.Add(wait);
            return Task.CompletedTask;
        },
    };

    [TestMethod]
    public async Task A_mirror_that_is_busy_once_passes_on_the_second_request()
    {
        using var mirror = new ScriptedMirror(HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK);

        await Probe().CheckAsync(mirror.Uri, "trixie", CancellationToken.None);

        Assert.AreEqual(2, mirror.Requests);
        Assert.HasCount(1, _waits);
    }

    [TestMethod]
    public async Task A_mirror_that_stays_busy_fails_with_DTV1004_naming_the_url_and_the_tries()
    {
        using var mirror = new ScriptedMirror(HttpStatusCode.ServiceUnavailable,
            HttpStatusCode.BadGateway, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK);

        var error = await Assert.ThrowsExactlyAsync<DtvException>(
            () => Probe().CheckAsync(mirror.Uri, "trixie", CancellationToken.None));

        Assert.AreEqual("DTV1004", error.Code);
        Assert.AreEqual(3, mirror.Requests);
        var detail = (string)error.Arguments[1]!;
        StringAssert.Contains(detail, "HTTP 503");
        StringAssert.Contains(detail, mirror.Uri + "/dists/trixie/Release");
        StringAssert.Contains(detail, "3 times");
    }

    [TestMethod]
    public async Task A_refusal_that_will_not_pass_is_not_asked_again()
    {
        using var mirror = new ScriptedMirror(HttpStatusCode.Forbidden, HttpStatusCode.OK);

        var error = await Assert.ThrowsExactlyAsync<DtvException>(
            () => Probe().CheckAsync(mirror.Uri, "trixie", CancellationToken.None));

        Assert.AreEqual("DTV1004", error.Code);
        Assert.AreEqual(1, mirror.Requests);
    }

    /// <summary>A server on 127.0.0.1 that answers its requests with the statuses in turn.</summary>
    private sealed class ScriptedMirror : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Queue<HttpStatusCode> _answers;
        private readonly Task _serving;
        private int _requests;

        public ScriptedMirror(params HttpStatusCode[] answers)
        {
            _answers = new Queue<HttpStatusCode>(answers);
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            Uri = new Uri($"http://127.0.0.1:{port}/debian");
            _serving = Task.Run(ServeAsync);
        }

        public Uri Uri { get; }

        public int Requests => Volatile.Read(ref _requests);

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

                Interlocked.Increment(ref _requests);
                context.Response.StatusCode = (int)(_answers.Count > 0
                    ? _answers.Dequeue()
                    : HttpStatusCode.OK);
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
