using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DockerToVms.Tasks.Docker.Archive;

namespace DockerToVms.Tasks.Tests.Registry;

/// <summary>How the fake registry asks clients to authenticate.</summary>
internal enum FakeAuth
{
    None,
    Basic,
    Bearer,
}

/// <summary>
/// An in-process registry behind an HttpMessageHandler: enough of the distribution API for
/// pushes and pulls (blobs, uploads, mounts, manifests), with Basic or Bearer challenges, and
/// every request recorded.
/// </summary>
internal sealed class FakeRegistry : HttpMessageHandler
{
    public const string Host = "registry.test";
    public const string User = "builder";
    public const string Password = "s3cret-Pa55word";
    private const string Token = "t0ken-value-42";

    private readonly FakeAuth _auth;
    private int _uploads;

    public FakeRegistry(FakeAuth auth = FakeAuth.None) => _auth = auth;

    /// <summary>Blobs by repository and digest.</summary>
    public ConcurrentDictionary<(string Repository, string Digest), byte[]> Blobs { get; } = new();

    /// <summary>Manifests by repository and tag (or digest).</summary>
    public ConcurrentDictionary<(string Repository, string Reference), (string Type, byte[] Json)>
        Manifests { get; } = new();

    /// <summary>Every request, as "METHOD path?query".</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The scopes asked of the token service.</summary>
    public ConcurrentQueue<string> TokenScopes { get; } = new();

    /// <summary>Blob downloads answer this content instead of the stored one.</summary>
    public byte[]? CorruptDownloads { get; set; }

    /// <summary>Manifest puts for this tag answer 400 TAG_INVALID.</summary>
    public string? RefusedTag { get; set; }

    public int BlobUploads => _uploads;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request,
        CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        Requests.Enqueue($"{request.Method} {uri.PathAndQuery}");
        if (uri.Host == "auth.test")
        {
            return IssueToken(request);
        }

        if (!Authorised(request))
        {
            var answer = new HttpResponseMessage(HttpStatusCode.Unauthorized);
            answer.Headers.WwwAuthenticate.Add(_auth == FakeAuth.Basic
                ? new AuthenticationHeaderValue("Basic", "realm=\"fake\"")
                : new AuthenticationHeaderValue("Bearer",
                    "realm=\"https://auth.test/token\",service=\"registry.test\""));
            return answer;
        }

        var path = uri.AbsolutePath["/v2/".Length..];
        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        var body = request.Content is null ? []
            : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        return Route(request.Method, path, query, body, request);
    }

    private HttpResponseMessage Route(HttpMethod method, string path,
        System.Collections.Specialized.NameValueCollection query, byte[] body,
        HttpRequestMessage request)
    {
        string repository;
        if (Split(path, "/blobs/uploads/", out repository, out var session))
        {
            if (method == HttpMethod.Post && query["mount"] is { } mount)
            {
                if (Blobs.TryGetValue((query["from"]!, mount), out var mounted))
                {
                    Blobs[(repository, mount)] = mounted;
                    return new HttpResponseMessage(HttpStatusCode.Created);
                }
            }

            if (method == HttpMethod.Post)
            {
                var started = new HttpResponseMessage(HttpStatusCode.Accepted);
                started.Headers.Location = new Uri(
                    $"/v2/{repository}/blobs/uploads/{Guid.NewGuid():N}?state=x",
                    UriKind.Relative);
                return started;
            }

            if (method == HttpMethod.Put && session.Length > 0)
            {
                var digest = query["digest"]!;
                if (OciDigest.Of(body) != digest)
                {
                    return Error(HttpStatusCode.BadRequest, "DIGEST_INVALID", "digest mismatch");
                }

                Interlocked.Increment(ref _uploads);
                Blobs[(repository, digest)] = body;
                return new HttpResponseMessage(HttpStatusCode.Created);
            }
        }

        if (Split(path, "/blobs/", out repository, out var blob))
        {
            if (!Blobs.TryGetValue((repository, blob), out var content))
            {
                return Error(HttpStatusCode.NotFound, "BLOB_UNKNOWN", "blob unknown");
            }

            return new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = method == HttpMethod.Head ? new ByteArrayContent([])
                    : new ByteArrayContent(CorruptDownloads ?? content),
            };
        }

        if (Split(path, "/manifests/", out repository, out var reference))
        {
            if (method == HttpMethod.Put)
            {
                if (reference == RefusedTag)
                {
                    return Error(HttpStatusCode.BadRequest, "TAG_INVALID", "tag refused");
                }

                var type = request.Content!.Headers.ContentType!.MediaType!;
                Manifests[(repository, reference)] = (type, body);
                Manifests[(repository, OciDigest.Of(body))] = (type, body);
                return new HttpResponseMessage(HttpStatusCode.Created);
            }

            if (!Manifests.TryGetValue((repository, reference), out var stored))
            {
                return Error(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", "manifest unknown");
            }

            var content = new ByteArrayContent(stored.Json);
            content.Headers.ContentType = new MediaTypeHeaderValue(stored.Type);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
        }

        return Error(HttpStatusCode.NotFound, "NAME_UNKNOWN", "no route");
    }

    private bool Authorised(HttpRequestMessage request)
    {
        var header = request.Headers.Authorization;
        return _auth switch
        {
            FakeAuth.None => true,
            FakeAuth.Basic => header?.Scheme == "Basic" && header.Parameter == BasicValue(),
            _ => header?.Scheme == "Bearer" && header.Parameter == Token,
        };
    }

    private HttpResponseMessage IssueToken(HttpRequestMessage request)
    {
        var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.Query);
        TokenScopes.Enqueue(query["scope"] ?? string.Empty);
        var header = request.Headers.Authorization;
        if (header?.Scheme != "Basic" || header.Parameter != BasicValue())
        {
            return new HttpResponseMessage(HttpStatusCode.Unauthorized);
        }

        return new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StringContent(JsonSerializer.Serialize(new { token = Token })),
        };
    }

    private static string BasicValue() =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(User + ":" + Password));

    private static bool Split(string path, string marker, out string repository, out string rest)
    {
        var at = path.IndexOf(marker, StringComparison.Ordinal);
        repository = at < 0 ? string.Empty : path[..at];
        rest = at < 0 ? string.Empty : path[(at + marker.Length)..];
        return at > 0;
    }

    private static HttpResponseMessage Error(HttpStatusCode status, string code, string message) =>
        new(status)
        {
            Content = new StringContent(JsonSerializer.Serialize(
                new { errors = new[] { new { code, message } } })),
        };
}
