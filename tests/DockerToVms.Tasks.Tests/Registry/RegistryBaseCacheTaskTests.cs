using System.Formats.Tar;
using System.Text;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Registry;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Registry;

[TestClass]
public sealed class RegistryBaseCacheTaskTests : IDisposable
{
    private const string Digest =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private const string CacheLocation = FakeRegistry.Host + "/dtv-cache";

    private readonly TemporaryDirectory _folder = new("dtv-basecache-");

    public void Dispose() => _folder.Dispose();

    private RegistryBaseCacheTask Create(RecordingBuildEngine engine, FakeRegistry registry,
        string? password = null) => new()
    {
        BuildEngine = engine,
        Action = "Pull",
        CacheRegistry = CacheLocation,
        Digest = Digest,
        CacheDirectory = _folder.Combine("cache"),
        Architecture = "amd64",
        RecipeFile = _folder.Write("obj/recipe.json", "{\"suite\":\"trixie\"}"),
        Handler = registry,
        Credentials = new RegistryCredentials(
            name => name switch
            {
                "DTV_REGISTRY_USER" when password is not null => FakeRegistry.User,
                "DTV_REGISTRY_PASSWORD" => password,
                _ => null,
            },
            (_, _, _) => Task.FromResult<string?>(null)),
    };

    // A one-layer base, as a bootstrapping machine pushes it: /etc/hostname in a layer.
    private async Task PushBaseAsync(FakeRegistry registry, string recipe = Digest)
    {
        var layerPath = _folder.Combine("layer.tar");
        await using (var file = File.Create(layerPath))
        {
            await using var tar = new TarWriter(file, TarEntryFormat.Pax);
            const UnixFileMode directory = (UnixFileMode)0b111_101_101;
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "./")
            {
                Mode = directory,
            });
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "./etc/")
            {
                Mode = directory,
            });
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "./etc/hostname")
            {
                Mode = (UnixFileMode)0b110_100_100,
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes("base\n")),
            });
        }

        var bytes = await File.ReadAllBytesAsync(layerPath);
        var digest = OciDigest.Of(bytes);
        var config = RegistryBaseCache.CreateConfig(recipe, "amd64", digest, "1234");
        var image = new PushImage(
            [new PushLayer(layerPath, digest, digest, ImageArchive.LayerMediaType, bytes.Length)],
            config.ToJson());
        using var client = new RegistryClient(
            RegistryReference.Parse(CacheLocation, "test"), null, registry);
        await RegistryPush.PushAsync(client, image, [Digest], ManifestFormat.Oci, string.Empty,
            (_, _) => { }, CancellationToken.None);
    }

    [TestMethod]
    public async Task A_base_in_the_cache_registry_fills_the_local_cache_instead_of_a_bootstrap()
    {
        using var registry = new FakeRegistry();
        await PushBaseAsync(registry);
        var engine = new RecordingBuildEngine();
        var task = Create(engine, registry);

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsTrue(task.Found);
        var cache = new RootfsCache(_folder.Combine("cache"));
        Assert.IsTrue(cache.Has(Digest));
        var entry = cache.EntryFor(Digest);
        Assert.AreEqual("base\n", File.ReadAllText(Path.Combine(entry, "rootfs/etc/hostname")));
        Assert.AreEqual("1234", File.ReadAllText(Path.Combine(entry, "trim-removed.txt")));
        Assert.IsFalse(File.Exists(Path.Combine(entry, "layer.tar")));
        Assert.IsEmpty(engine.Warnings);
    }

    [TestMethod]
    public void A_cache_registry_without_the_base_leaves_the_bootstrap_to_the_build()
    {
        using var registry = new FakeRegistry();
        var engine = new RecordingBuildEngine();
        var task = Create(engine, registry);

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsFalse(task.Found);
        Assert.IsEmpty(engine.Warnings);
        Assert.IsEmpty(Directory.GetFileSystemEntries(_folder.Combine("cache/staging")));
    }

    [TestMethod]
    public async Task A_tag_that_holds_another_recipe_is_warned_about_and_not_used()
    {
        using var registry = new FakeRegistry();
        await PushBaseAsync(registry, recipe: new string('f', 64));
        var engine = new RecordingBuildEngine();
        var task = Create(engine, registry);

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsFalse(task.Found);
        Expect.Sequence(engine.WarningCodes, "DTV3141");
        StringAssert.Contains(engine.Warnings[0].Message, "DTV3143");
    }

    [TestMethod]
    public async Task A_corrupted_layer_is_not_unpacked_and_the_build_bootstraps()
    {
        using var registry = new FakeRegistry();
        await PushBaseAsync(registry);
        var engine = new RecordingBuildEngine();
        var task = Create(engine, registry);
        task.Handler = new CorruptLayers(registry);

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsFalse(task.Found);
        Expect.Sequence(engine.WarningCodes, "DTV3141");
        StringAssert.Contains(engine.Warnings[0].Message, "DTV3135");
        Assert.IsFalse(new RootfsCache(_folder.Combine("cache")).Has(Digest));
        Assert.IsEmpty(Directory.GetFileSystemEntries(_folder.Combine("cache/staging")));
    }

    [TestMethod]
    public void Wrong_credentials_are_a_warning_that_never_shows_the_password()
    {
        using var registry = new FakeRegistry(FakeAuth.Bearer);
        var engine = new RecordingBuildEngine();
        const string password = "wrong-Pa55-for-the-test";
        var task = Create(engine, registry, password);

        Assert.IsTrue(task.Execute(), engine.Log);

        Expect.Sequence(engine.WarningCodes, "DTV3141");
        StringAssert.Contains(engine.Warnings[0].Message, "DTV3131");
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(FakeRegistry.User + ":" + password));
        Assert.DoesNotContain(password, engine.Log);
        Assert.DoesNotContain(basic, engine.Log);
        Assert.DoesNotContain(FakeRegistry.Password, engine.Log);
    }

    [TestMethod]
    public void A_cache_location_without_a_repository_is_a_configuration_error()
    {
        using var registry = new FakeRegistry();
        var engine = new RecordingBuildEngine();
        var task = Create(engine, registry);
        task.CacheRegistry = "127.0.0.1:5000";

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV9065");
    }

    // Layer downloads answer other bytes; everything else goes to the registry.
    private sealed class CorruptLayers(FakeRegistry registry) : DelegatingHandler(registry)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request,
            CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.Method == HttpMethod.Get
                && request.RequestUri!.AbsolutePath.Contains("/blobs/", StringComparison.Ordinal)
                && (await response.Content.ReadAsByteArrayAsync(cancellationToken)).Length > 1024)
            {
                response.Content = new ByteArrayContent(new byte[2048]);
            }

            return response;
        }
    }
}
