using System.Net;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Bootstrap;

/// <summary>
/// Asks the mirror for the suite's Release file before debootstrap runs, so that an unknown
/// suite and an unreachable mirror get errors of their own instead of debootstrap's output.
/// </summary>
public sealed class MirrorProbe
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly HttpMessageHandler _handler;

    /// <summary>Creates a probe that uses the given HTTP handler (tests pass their own).</summary>
    public MirrorProbe(HttpMessageHandler? handler = null) =>
        _handler = handler ?? new SocketsHttpHandler();

    /// <summary>Throws DTV1002 or DTV1004 unless the mirror serves the suite.</summary>
    public async Task CheckAsync(Uri mirror, string suite, CancellationToken cancellation)
    {
        var release = new Uri(mirror.AbsoluteUri.TrimEnd('/') + $"/dists/{suite}/Release");
        if (mirror.IsFile)
        {
            if (!Directory.Exists(mirror.LocalPath))
            {
                throw new DtvException("MirrorUnreachable", mirror, "no such directory");
            }

            var inRelease = Path.Combine(Path.GetDirectoryName(release.LocalPath)!, "InRelease");
            if (!File.Exists(release.LocalPath) && !File.Exists(inRelease))
            {
                throw new DtvException("SuiteUnknown", suite, mirror, release.LocalPath, 404);
            }

            return;
        }

        using var client = new HttpClient(_handler, disposeHandler: false) { Timeout = s_timeout };
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, release);
            response = await client.SendAsync(request, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException
            || (e is TaskCanceledException && !cancellation.IsCancellationRequested))
        {
            throw new DtvException("MirrorUnreachable", mirror, e.Message);
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new DtvException("SuiteUnknown", suite, mirror, release,
                    (int)response.StatusCode);
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new DtvException("MirrorUnreachable", mirror,
                    $"HTTP {(int)response.StatusCode} for {release}");
            }
        }
    }
}
