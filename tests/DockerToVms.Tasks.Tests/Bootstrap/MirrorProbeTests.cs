using System.Net;
using System.Net.Sockets;
using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Bootstrap;

/// <summary>The mirror check, against a mirror served on the loopback address.</summary>
[TestClass]
public sealed class MirrorProbeTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-mirror-");

    // The proxy settings of the machine must not send loopback requests anywhere else.
    private readonly SocketsHttpHandler _handler =
        new() { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) };

    public void Dispose()
    {
        _handler.Dispose();
        _folder.Dispose();
    }

    private MirrorProbe Probe() => new(_handler);

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [TestMethod]
    public async Task A_mirror_that_has_the_suite_passes()
    {
        using var mirror = new LoopbackMirror(HttpStatusCode.OK);

        await Probe().CheckAsync(new Uri(mirror.Address + "debian"), "trixie",
            CancellationToken.None);

        Expect.Sequence(mirror.Requests, "HEAD /debian/dists/trixie/Release");
    }

    [TestMethod]
    public async Task A_trailing_slash_on_the_mirror_asks_for_the_same_file()
    {
        using var mirror = new LoopbackMirror(HttpStatusCode.OK);

        await Probe().CheckAsync(new Uri(mirror.Address + "debian/"), "trixie",
            CancellationToken.None);

        Expect.Sequence(mirror.Requests, "HEAD /debian/dists/trixie/Release");
    }

    [TestMethod]
    public async Task A_suite_the_mirror_does_not_have_fails_with_DTV1002()
    {
        using var mirror = new LoopbackMirror(HttpStatusCode.NotFound);

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() => Probe().CheckAsync(
            new Uri(mirror.Address + "debian"), "trixy", CancellationToken.None));

        Assert.AreEqual("DTV1002", error.Code);
        Assert.AreEqual("trixy", error.Arguments[0]);
        Assert.AreEqual(404, error.Arguments[3]);
    }

    [TestMethod]
    public async Task A_mirror_that_answers_with_a_server_error_fails_with_DTV1004()
    {
        using var mirror = new LoopbackMirror(HttpStatusCode.InternalServerError);

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() => Probe().CheckAsync(
            new Uri(mirror.Address + "debian"), "trixie", CancellationToken.None));

        Assert.AreEqual("DTV1004", error.Code);
    }

    [TestMethod]
    public async Task A_mirror_nobody_listens_on_fails_with_DTV1004()
    {
        var closed = new Uri($"http://127.0.0.1:{FreePort()}/debian");

        var error = await Assert.ThrowsExactlyAsync<DtvException>(
            () => Probe().CheckAsync(closed, "trixie", CancellationToken.None));

        Assert.AreEqual("DTV1004", error.Code);
        Assert.AreEqual(closed, error.Arguments[0]);
    }

    [TestMethod]
    public async Task A_folder_mirror_with_the_suite_passes()
    {
        _folder.Write("debian/dists/trixie/Release", "Suite: stable\n");

        await Probe().CheckAsync(new Uri(_folder.Combine("debian")), "trixie",
            CancellationToken.None);
    }

    [TestMethod]
    public async Task A_folder_mirror_with_only_a_signed_release_passes()
    {
        _folder.Write("debian/dists/trixie/InRelease", "signed\n");

        await Probe().CheckAsync(new Uri(_folder.Combine("debian")), "trixie",
            CancellationToken.None);
    }

    [TestMethod]
    public async Task A_folder_mirror_without_the_suite_fails_with_DTV1002()
    {
        _folder.Write("debian/dists/bookworm/Release", "Suite: oldstable\n");

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() => Probe().CheckAsync(
            new Uri(_folder.Combine("debian")), "trixie", CancellationToken.None));

        Assert.AreEqual("DTV1002", error.Code);
        Assert.AreEqual(_folder.Combine("debian/dists/trixie/Release"), error.Arguments[2]);
    }

    [TestMethod]
    public async Task A_folder_mirror_that_does_not_exist_fails_with_DTV1004()
    {
        var error = await Assert.ThrowsExactlyAsync<DtvException>(() => Probe().CheckAsync(
            new Uri(_folder.Combine("nowhere")), "trixie", CancellationToken.None));

        Assert.AreEqual("DTV1004", error.Code);
    }

    /// <summary>An HTTP server on 127.0.0.1 that answers every request with one status.</summary>
    private sealed class LoopbackMirror : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _serving;
        private readonly HttpStatusCode _status;
        private readonly List<string> _requests = [];

        public LoopbackMirror(HttpStatusCode status)
        {
            _status = status;
            Address = $"http://127.0.0.1:{FreePort()}/";
            _listener.Prefixes.Add(Address);
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public string Address { get; }

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException
                    or InvalidOperationException)
                {
                    return;
                }

                lock (_requests)
                {
                    var request = context.Request;
                    _requests.Add($"{request.HttpMethod} {request.Url!.AbsolutePath}");
                }

                context.Response.StatusCode = (int)_status;
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
