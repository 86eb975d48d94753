using System.Text;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Registry;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Registry;

[TestClass]
public sealed class RegistryPushTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-push-test-");

    public void Dispose() => _folder.Dispose();

    private static RegistryReference Target(string repository = "team/app") =>
        RegistryReference.Create(FakeRegistry.Host, repository);

    private static RegistryCredential Credential(string password = FakeRegistry.Password) =>
        new(FakeRegistry.User, password, "a test");

    private PushImage Image(params string[] layerTexts)
    {
        var layers = layerTexts.Select((text, i) =>
        {
            var path = _folder.Write($"layer{i}.tar", text);
            var digest = OciDigest.Of(Encoding.UTF8.GetBytes(text));
            return new PushLayer(path, digest, digest, ImageArchive.LayerMediaType, text.Length);
        }).ToList();
        var config = new ImageConfig
        {
            Architecture = "amd64",
            DiffIds = [.. layers.Select(l => l.DiffId)],
        };
        return new PushImage(layers, config.ToJson());
    }

    private static Task<PushResult> PushAsync(RegistryClient client, PushImage image,
        params string[] tags) =>
        RegistryPush.PushAsync(client, image, tags, ManifestFormat.Oci, string.Empty,
            (_, _) => { }, CancellationToken.None);

    private static string Code(Func<Task> action)
    {
        var e = Assert.ThrowsExactly<DtvException>(() => action().GetAwaiter().GetResult());
        return e.Code;
    }

    [TestMethod]
    public async Task An_image_can_be_pushed_and_its_manifest_read_back()
    {
        using var registry = new FakeRegistry();
        using var client = new RegistryClient(Target(), null, registry);
        var image = Image("base layer", "app layer");

        var result = await PushAsync(client, image, "1.0", "latest");

        Assert.AreEqual(3, result.BlobsUploaded);
        var pulled = await client.GetManifestAsync("1.0", CancellationToken.None);
        Assert.IsNotNull(pulled);
        Assert.AreEqual(result.ManifestDigest, pulled.Digest);
        Expect.Sequence(pulled.Manifest.Layers.Select(l => l.Digest),
            [.. image.Layers.Select(l => l.Digest)]);
        Assert.AreEqual(OciDigest.Of(image.ConfigJson.Span), pulled.Manifest.Config.Digest);
        Assert.IsTrue(registry.Manifests.ContainsKey(("team/app", "latest")));
    }

    [TestMethod]
    public async Task A_second_push_uploads_only_what_changed()
    {
        using var registry = new FakeRegistry();
        using var client = new RegistryClient(Target(), null, registry);
        await PushAsync(client, Image("base layer", "app layer"), "1");

        var again = await PushAsync(client, Image("base layer", "changed app layer"), "2");

        // The base layer is skipped; the new app layer and the new configuration go up.
        Assert.AreEqual(2, again.BlobsUploaded);
        Assert.AreEqual(1, again.BlobsPresent);
        Assert.AreEqual(5, registry.BlobUploads);
    }

    [TestMethod]
    public async Task Blobs_of_another_repository_of_the_registry_are_mounted_not_uploaded()
    {
        using var registry = new FakeRegistry();
        var image = Image("shared base");
        using (var other = new RegistryClient(Target("team/base"), null, registry))
        {
            await PushAsync(other, image, "1");
        }

        using var client = new RegistryClient(Target(), null, registry);
        var result = await RegistryPush.PushAsync(client, image, ["1"], ManifestFormat.Oci,
            "team/base", (_, _) => { }, CancellationToken.None);

        Assert.AreEqual(0, result.BlobsUploaded);
        Assert.IsTrue(registry.Blobs.ContainsKey(("team/app", image.Layers[0].Digest)));
    }

    [TestMethod]
    public async Task A_bearer_challenge_is_answered_with_a_token_fetched_with_the_credential()
    {
        using var registry = new FakeRegistry(FakeAuth.Bearer);
        using var client = new RegistryClient(Target(), Credential(), registry);

        await PushAsync(client, Image("layer"), "1");

        Assert.AreEqual("repository:team/app:pull,push", registry.TokenScopes.First());
        Assert.IsTrue(registry.Manifests.ContainsKey(("team/app", "1")));
    }

    [TestMethod]
    public async Task A_basic_challenge_is_answered_with_the_credential()
    {
        using var registry = new FakeRegistry(FakeAuth.Basic);
        using var client = new RegistryClient(Target(), Credential(), registry);

        await PushAsync(client, Image("layer"), "1");

        Assert.IsTrue(registry.Manifests.ContainsKey(("team/app", "1")));
    }

    [TestMethod]
    public void Wrong_credentials_are_reported_as_access_denied()
    {
        using var registry = new FakeRegistry(FakeAuth.Bearer);
        using var client = new RegistryClient(Target(), Credential("wrong"), registry);

        Assert.AreEqual("DTV3131", Code(() => PushAsync(client, Image("layer"), "1")));
    }

    [TestMethod]
    public void No_credential_for_a_registry_that_wants_one_is_access_denied()
    {
        using var registry = new FakeRegistry(FakeAuth.Basic);
        using var client = new RegistryClient(Target(), null, registry);

        Assert.AreEqual("DTV3131", Code(() => PushAsync(client, Image("layer"), "1")));
    }

    [TestMethod]
    public void A_tag_the_registry_refuses_is_reported_with_its_answer()
    {
        using var registry = new FakeRegistry { RefusedTag = "release" };
        using var client = new RegistryClient(Target(), null, registry);

        var e = Assert.ThrowsExactly<DtvException>(() =>
            PushAsync(client, Image("layer"), "release").GetAwaiter().GetResult());

        Assert.AreEqual("DTV3137", e.Code);
        Assert.AreEqual("release", e.Arguments[1]);
    }

    [TestMethod]
    public void A_tag_no_registry_accepts_is_refused_before_anything_is_sent()
    {
        using var registry = new FakeRegistry();
        using var client = new RegistryClient(Target(), null, registry);

        Assert.AreEqual("DTV3132", Code(() => PushAsync(client, Image("layer"), "-bad:tag")));
        Assert.IsEmpty(registry.Requests);
    }

    [TestMethod]
    public async Task A_download_whose_content_is_not_its_digest_is_refused()
    {
        using var registry = new FakeRegistry();
        using var client = new RegistryClient(Target(), null, registry);
        var image = Image("the real layer");
        await PushAsync(client, image, "1");
        registry.CorruptDownloads = Encoding.UTF8.GetBytes("something else");

        using var sink = new MemoryStream();
        var e = Assert.ThrowsExactly<DtvException>(() => client.DownloadBlobAsync(
            image.Layers[0].Digest, sink, CancellationToken.None).GetAwaiter().GetResult());

        Assert.AreEqual("DTV3135", e.Code);
        Assert.AreEqual(image.Layers[0].Digest, e.Arguments[0]);
    }

    [TestMethod]
    public void A_registry_that_does_not_answer_is_reported_as_unreachable()
    {
        using var handler = new Unreachable();
        using var client = new RegistryClient(Target(), null, handler);

        Assert.AreEqual("DTV3130", Code(() => client.GetManifestAsync("1", CancellationToken.None)));
    }

    [TestMethod]
    public void The_docker_manifest_format_uses_dockers_media_types()
    {
        var manifest = ImageManifest.For(Image("layer"), ManifestFormat.Docker);

        Assert.AreEqual(ImageManifest.DockerMediaType, manifest.MediaType);
        Assert.AreEqual(ImageManifest.DockerConfigMediaType, manifest.Config.MediaType);
        Assert.AreEqual(ImageManifest.DockerLayerMediaType, manifest.Layers[0].MediaType);
        var read = ImageManifest.Parse(manifest.ToJson(), null);
        Assert.AreEqual(manifest.Config, read?.Config);
        Expect.Sequence(read!.Layers, [.. manifest.Layers]);
    }

    [TestMethod]
    public void Challenge_parameters_are_read_with_quotes_and_commas()
    {
        var parameters = RegistryClient.ChallengeParameters(
            "realm=\"https://auth.example/token\",service=\"reg\",scope=\"repository:a/b:pull,push\"");

        Assert.AreEqual("https://auth.example/token", parameters["realm"]);
        Assert.AreEqual("reg", parameters["service"]);
        Assert.AreEqual("repository:a/b:pull,push", parameters["scope"]);
    }

    private sealed class Unreachable : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request,
            CancellationToken cancellationToken) =>
            throw new HttpRequestException("Connection refused");
    }
}
