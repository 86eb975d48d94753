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

    /// <summary>How many times the mirror is asked before it counts as unreachable.</summary>
    public int Attempts { get; init; } = 3;

    /// <summary>Waits between attempts; tests replace it to run without waiting.</summary>
    public Func<TimeSpan, CancellationToken, Task> Delay { get; init; } = Task.Delay;

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
        for (var attempt = 1; ; attempt++)
        {
            var failure = await TryOnceAsync(client, mirror, suite, release, cancellation)
                .ConfigureAwait(false);
            if (failure is null)
            {
                return;
            }

            // A busy mirror, a reset connection or a time-out may pass; asking again a little
            // later is cheaper than failing a build that would then have worked.
            if (attempt >= Attempts || !failure.Value.Transient)
            {
                throw new DtvException("MirrorUnreachable", mirror, attempt == 1
                    ? failure.Value.Text
                    : $"{failure.Value.Text}; tried {attempt} times");
            }

            await Delay(TimeSpan.FromSeconds(1 << (attempt - 1)), cancellation)
                .ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One request: null when the mirror has the suite, else what went wrong and whether
    /// asking again might help.
    /// </summary>
    private static async Task<(string Text, bool Transient)?> TryOnceAsync(HttpClient client, Uri mirror, string suite,
        Uri release, CancellationToken cancellation)
    {
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, release);
            response = await client.SendAsync(request, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException
            || (e is TaskCanceledException && !cancellation.IsCancellationRequested))
        {
            return ($"{e.Message} for {release}", true);
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new DtvException("SuiteUnknown", suite, mirror, release,
                    (int)response.StatusCode);
            }

            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? null
                : ($"HTTP {status} for {release}", status >= 500 || status is 408 or 429);
        }
    }
}
