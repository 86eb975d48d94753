using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Registry;

/// <summary>A manifest as a registry returned it: the parsed form, its bytes and digest.</summary>
public sealed record PulledManifest(ImageManifest Manifest, byte[] Json, string Digest);

/// <summary>
/// Speaks the OCI distribution API to one repository of one registry: blobs (exists, upload,
/// mount, download with its digest checked) and manifests (put, get). Anonymous access is
/// tried first; a <c>401</c> answer's challenge decides the rest: <c>Basic</c> sends the
/// credential, <c>Bearer</c> fetches a token from the challenge's realm for its service and
/// scope (with the credential, if any) and sends that. Neither the credential nor a token
/// ever goes into a message.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    private const int BufferSize = 1 << 16;
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(15);

    private readonly RegistryReference _registry;
    private readonly RegistryCredential? _credential;
    private readonly HttpClient _http;
    private AuthenticationHeaderValue? _authorization;

    /// <summary>Creates a client; <paramref name="handler"/> replaces the network in tests.</summary>
    public RegistryClient(RegistryReference registry, RegistryCredential? credential,
        HttpMessageHandler? handler = null)
    {
        _registry = registry;
        _credential = credential;
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            ConnectTimeout = s_connectTimeout,
            // Registries may send blob downloads to a storage service; the authorization
            // header is not carried across a redirect.
            AllowAutoRedirect = true,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The registry and repository this client speaks to.</summary>
    public RegistryReference Registry => _registry;

    /// <summary>Whether the repository has the blob.</summary>
    public async Task<bool> BlobExistsAsync(string digest, CancellationToken cancellation)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head,
            Url($"blobs/{digest}")), "checking a blob", Access.Push, cancellation)
            .ConfigureAwait(false);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw await FailureAsync(response, "checking a blob").ConfigureAwait(false),
        };
    }

    /// <summary>
    /// Asks the registry to link a blob another repository of it holds into this one, which
    /// costs no upload; false when it cannot (the blob must then be uploaded).
    /// </summary>
    public async Task<bool> MountBlobAsync(string digest, string fromRepository,
        CancellationToken cancellation)
    {
        var query = $"blobs/uploads/?mount={Uri.EscapeDataString(digest)}" +
            $"&from={Uri.EscapeDataString(fromRepository)}";
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post,
            Url(query)), "mounting a blob", Access.Push, cancellation).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return true;
        }

        // 202: the registry started an upload instead; it is left to expire.
        return response.IsSuccessStatusCode
            ? false
            : throw await FailureAsync(response, "mounting a blob").ConfigureAwait(false);
    }

    /// <summary>
    /// Uploads a blob: <c>POST</c> opens an upload session, <c>PUT</c> with the digest sends
    /// the whole content and closes it.
    /// </summary>
    /// <param name="digest">The content's digest; the registry checks it.</param>
    /// <param name="size">The content's length.</param>
    /// <param name="open">Opens the content from its start; called again when a request
    /// has to be repeated after authenticating.</param>
    /// <param name="cancellation">Stops the upload.</param>
    public async Task UploadBlobAsync(string digest, long size, Func<Stream> open,
        CancellationToken cancellation)
    {
        Uri location;
        using (var start = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post,
            Url("blobs/uploads/")), "starting an upload", Access.Push, cancellation)
            .ConfigureAwait(false))
        {
            if (start.StatusCode != HttpStatusCode.Accepted || start.Headers.Location is null)
            {
                throw await FailureAsync(start, "starting an upload").ConfigureAwait(false);
            }

            location = start.Headers.Location.IsAbsoluteUri
                ? start.Headers.Location
                : new Uri(_registry.ApiRoot, start.Headers.Location);
        }

        var separator = location.Query.Length > 0 ? "&" : "?";
        var put = new Uri(location + separator + "digest=" + Uri.EscapeDataString(digest));
        using var response = await SendAsync(() =>
        {
            var content = new StreamContent(open(), BufferSize);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.ContentLength = size;
            return new HttpRequestMessage(HttpMethod.Put, put) { Content = content };
        }, "uploading a blob", Access.Push, cancellation).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw await FailureAsync(response, "uploading a blob").ConfigureAwait(false);
        }
    }

    /// <summary>Stores a manifest under a tag (or a digest) and returns its digest.</summary>
    /// <exception cref="DtvException">DTV3137 when the registry refuses it.</exception>
    public async Task<string> PutManifestAsync(string reference, ImageManifest manifest,
        CancellationToken cancellation)
    {
        var json = manifest.ToJson();
        using var response = await SendAsync(() =>
        {
            var content = new ByteArrayContent(json);
            content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
            return new HttpRequestMessage(HttpMethod.Put, Url($"manifests/{reference}"))
            {
                Content = content,
            };
        }, "storing a manifest", Access.Push, cancellation).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return OciDigest.Of(json);
        }

        if ((int)response.StatusCode is >= 400 and < 500
            and not 401 and not 403)
        {
            throw new DtvException("RegistryTagRefused", _registry, reference,
                (int)response.StatusCode, await ErrorTextAsync(response).ConfigureAwait(false));
        }

        throw await FailureAsync(response, "storing a manifest").ConfigureAwait(false);
    }

    /// <summary>The manifest under a tag or digest, or null when the repository has none.</summary>
    public async Task<PulledManifest?> GetManifestAsync(string reference,
        CancellationToken cancellation)
    {
        using var response = await SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, Url($"manifests/{reference}"));
            foreach (var type in ImageManifest.Accepted)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            return request;
        }, "reading a manifest", Access.Pull, cancellation).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await FailureAsync(response, "reading a manifest").ConfigureAwait(false);
        }

        var json = await response.Content.ReadAsByteArrayAsync(cancellation).ConfigureAwait(false);
        var digest = OciDigest.Of(json);
        if (reference.StartsWith(OciDigest.Prefix, StringComparison.Ordinal) && reference != digest)
        {
            throw new DtvException("RegistryDigestMismatch", reference, _registry, digest);
        }

        var manifest = ImageManifest.Parse(json, response.Content.Headers.ContentType?.MediaType)
            ?? throw new DtvException("RegistryRequestFailed", _registry, "reading the manifest",
                reference, 200, "not a single-platform image manifest");
        return new PulledManifest(manifest, json, digest);
    }

    /// <summary>
    /// Downloads a blob into the stream and checks its digest on the way; the caller throws
    /// the written bytes away when this fails.
    /// </summary>
    /// <exception cref="DtvException">DTV3135 when the content is not the digest's.</exception>
    public async Task DownloadBlobAsync(string digest, Stream destination,
        CancellationToken cancellation)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get,
            Url($"blobs/{digest}")), "downloading a blob", Access.Pull, cancellation,
            HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await FailureAsync(response, "downloading a blob").ConfigureAwait(false);
        }

        using var hashed = new DigestStream(destination);
        var body = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            await body.CopyToAsync(hashed, BufferSize, cancellation).ConfigureAwait(false);
        }

        if (hashed.Digest != digest)
        {
            throw new DtvException("RegistryDigestMismatch", digest, _registry, hashed.Digest);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private enum Access
    {
        Pull,
        Push,
    }

    private Uri Url(string path) => new(_registry.ApiRoot, _registry.Repository + "/" + path);

    // Sends with the authorization known so far; a 401 answer is met once by authenticating
    // as its challenge asks, and the request is made again. A 401 or 403 that remains means
    // the credential (or its absence) is not enough.
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create,
        string action, Access access, CancellationToken cancellation,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = create();
            request.Headers.Authorization = _authorization;
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, completion, cancellation)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellation.IsCancellationRequested
                && e is HttpRequestException or IOException or TaskCanceledException)
            {
                throw new DtvException("RegistryUnreachable", _registry.Host,
                    Innermost(e).Message);
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0
                && response.Headers.WwwAuthenticate.Count > 0)
            {
                var challenge = response.Headers.WwwAuthenticate.First();
                response.Dispose();
                _authorization = await AuthenticateAsync(challenge, action, access, cancellation)
                    .ConfigureAwait(false);
                continue;
            }

            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                var status = (int)response.StatusCode;
                response.Dispose();
                throw Denied(action, status);
            }

            return response;
        }
    }

    private async Task<AuthenticationHeaderValue> AuthenticateAsync(
        AuthenticationHeaderValue challenge, string action, Access access,
        CancellationToken cancellation)
    {
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return _credential is null
                ? throw Denied(action, 401)
                : new AuthenticationHeaderValue("Basic", _credential.BasicHeader());
        }

        if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new DtvException("RegistryRequestFailed", _registry, action,
                _registry.Repository, 401, $"an unknown authentication scheme '{challenge.Scheme}'");
        }

        var parameters = ChallengeParameters(challenge.Parameter ?? string.Empty);
        if (!parameters.TryGetValue("realm", out var realm)
            || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri)
            || realmUri.Scheme is not ("https" or "http"))
        {
            throw new DtvException("RegistryRequestFailed", _registry, action,
                _registry.Repository, 401, "a Bearer challenge without a usable realm");
        }

        var scope = parameters.TryGetValue("scope", out var given) ? given
            : $"repository:{_registry.Repository}:" + (access == Access.Push ? "pull,push" : "pull");
        var query = new StringBuilder("?scope=").Append(Uri.EscapeDataString(scope));
        if (parameters.TryGetValue("service", out var service))
        {
            query.Append("&service=").Append(Uri.EscapeDataString(service));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get,
            new Uri(realmUri, realmUri.AbsolutePath + query));
        if (_credential is not null)
        {
            request.Headers.Authorization =
                new AuthenticationHeaderValue("Basic", _credential.BasicHeader());
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellation.IsCancellationRequested
            && e is HttpRequestException or IOException or TaskCanceledException)
        {
            throw new DtvException("RegistryUnreachable", realmUri.Authority,
                Innermost(e).Message);
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw Denied(action, (int)response.StatusCode);
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new DtvException("RegistryRequestFailed", realmUri.Authority,
                    "fetching a token", scope, (int)response.StatusCode, "no token");
            }

            using var answer = JsonDocument.Parse(
                await response.Content.ReadAsByteArrayAsync(cancellation).ConfigureAwait(false));
            var token = answer.RootElement.TryGetProperty("token", out var t) ? t.GetString()
                : answer.RootElement.TryGetProperty("access_token", out var a) ? a.GetString()
                : null;
            return string.IsNullOrEmpty(token)
                ? throw new DtvException("RegistryRequestFailed", realmUri.Authority,
                    "fetching a token", scope, (int)response.StatusCode, "no token")
                : new AuthenticationHeaderValue("Bearer", token);
        }
    }

    // realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"
    internal static Dictionary<string, string> ChallengeParameters(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i])))
            {
                i++;
            }

            var equals = text.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            var name = text[i..equals].Trim();
            i = equals + 1;
            var value = new StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                for (i++; i < text.Length && text[i] != '"'; i++)
                {
                    value.Append(text[i] == '\\' && i + 1 < text.Length ? text[++i] : text[i]);
                }

                i++;
            }
            else
            {
                for (; i < text.Length && text[i] != ','; i++)
                {
                    value.Append(text[i]);
                }
            }

            result[name] = value.ToString().Trim();
        }

        return result;
    }

    private DtvException Denied(string action, int status) =>
        new("RegistryAccessDenied", _registry.Host, action, _registry.Repository, status,
            _credential?.ToString() ?? "no credential (anonymous)");

    private async Task<DtvException> FailureAsync(HttpResponseMessage response, string action) =>
        new("RegistryRequestFailed", _registry, action, _registry.Repository,
            (int)response.StatusCode, await ErrorTextAsync(response).ConfigureAwait(false));

    // The distribution API's error body: {"errors":[{"code":"...","message":"..."}]}.
    private static async Task<string> ErrorTextAsync(HttpResponseMessage response)
    {
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return response.ReasonPhrase ?? "no answer";
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var errors = document.RootElement.GetProperty("errors").EnumerateArray()
                .Select(e => $"{e.GetProperty("code").GetString()}: " +
                    e.GetProperty("message").GetString());
            return string.Join("; ", errors);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException
            or InvalidOperationException)
        {
            var text = body.Trim();
            return text.Length == 0 ? response.ReasonPhrase ?? "no answer"
                : text.Length > 200 ? text[..200] : text;
        }
    }

    private static Exception Innermost(Exception e) =>
        e.InnerException is null ? e : Innermost(e.InnerException);
}
