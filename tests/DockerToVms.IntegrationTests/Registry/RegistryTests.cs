using System.Text.Json;
using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Registry;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.IntegrationTests.Registry;

/// <summary>
/// Pushes and pulls against a registry each test starts for itself on 127.0.0.1 (Debian's
/// docker-registry), with images from the real daemon and layers packed by the real tar.
/// </summary>
[TestClass]
[TestCategory("Integration")]
public sealed class RegistryTests
{
    private static readonly string s_repository = "dtv-it-reg-" + Guid.NewGuid().ToString("N")[..8];
    private const string Digest =
        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

    private string _work = string.Empty;

    [TestInitialize]
    public void CreateWorkFolder()
    {
        if (!HostTools.IsRoot || !LocalRegistry.IsInstalled)
        {
            Assert.Inconclusive("Needs root and docker-registry (apt-get install docker-registry).");
        }

        _work = Directory.CreateTempSubdirectory("dtv-it-registry-").FullName;
    }

    [TestCleanup]
    public void RemoveWorkFolder()
    {
        Environment.SetEnvironmentVariable("DTV_REGISTRY_USER", null);
        Environment.SetEnvironmentVariable("DTV_REGISTRY_PASSWORD", null);
        if (_work.Length > 0)
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    [ClassCleanup]
    public static async Task RemoveImages()
    {
        var images = await Tool.RunAsync("docker", "images", "-q", "--filter",
            $"reference={s_repository}*");
        foreach (var id in images.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct())
        {
            await Tool.TryRunAsync("docker", "rmi", "-f", id);
        }
    }

    [TestMethod]
    public async Task An_image_pushed_from_docker_pulls_back_with_the_same_digests()
    {
        await using var registry = await LocalRegistry.StartAsync();
        var image = Import("first");

        var (pushed, engine) = Push(registry.Host, image);
        Assert.IsTrue(pushed.Execute(), engine.Log);

        using var client = new RegistryClient(
            RegistryReference.Create(registry.Host, "it/app"), null);
        var manifest = await client.GetManifestAsync("1.0", CancellationToken.None);
        Assert.IsNotNull(manifest);
        Assert.AreEqual(pushed.ManifestDigest, manifest.Digest);
        Assert.AreEqual(image, manifest.Manifest.Config.Digest, "the image id is the config's digest");
        var layers = JsonSerializer.Deserialize<string[]>(
            await Tool.RunAsync("docker", "image", "inspect", "--format",
                "{{json .RootFS.Layers}}", image))!;
        CollectionAssert.AreEqual(layers, manifest.Manifest.Layers.Select(l => l.Digest).ToList());
        foreach (var layer in manifest.Manifest.Layers)
        {
            // The download checks the digest; a mismatch would throw.
            using var sink = new MemoryStream();
            await client.DownloadBlobAsync(layer.Digest, sink, CancellationToken.None);
            Assert.AreEqual(layer.Size, sink.Length);
        }

        var (again, againEngine) = Push(registry.Host, image);
        Assert.IsTrue(again.Execute(), againEngine.Log);
        Assert.AreEqual(pushed.ManifestDigest, again.ManifestDigest);
        StringAssert.Contains(againEngine.Log, "0 blobs uploaded");
    }

    [TestMethod]
    public async Task Wrong_credentials_fail_the_push_and_leave_the_image_in_docker()
    {
        await using var registry = await LocalRegistry.StartAsync("builder", "right-password");
        var image = Import("login");
        Environment.SetEnvironmentVariable("DTV_REGISTRY_USER", "builder");
        Environment.SetEnvironmentVariable("DTV_REGISTRY_PASSWORD", "wrong-password");

        var (denied, engine) = Push(registry.Host, image);
        Assert.IsFalse(denied.Execute());

        CollectionAssert.AreEqual(new[] { "DTV3131" }, engine.ErrorCodes.ToList(), engine.Log);
        Assert.DoesNotContain("wrong-password", engine.Log);
        await Tool.RunAsync("docker", "image", "inspect", image);

        Environment.SetEnvironmentVariable("DTV_REGISTRY_PASSWORD", "right-password");
        var (allowed, allowedEngine) = Push(registry.Host, image);
        Assert.IsTrue(allowed.Execute(), allowedEngine.Log);
        Assert.DoesNotContain("right-password", allowedEngine.Log);
    }

    [TestMethod]
    public async Task A_registry_that_is_not_running_fails_the_push_as_unreachable()
    {
        string host;
        await using (var stopped = await LocalRegistry.StartAsync())
        {
            host = stopped.Host;
        }

        var (push, engine) = Push(host, Import("unreachable"));

        Assert.IsFalse(push.Execute());
        CollectionAssert.AreEqual(new[] { "DTV3130" }, engine.ErrorCodes.ToList(), engine.Log);
    }

    [TestMethod]
    public async Task A_base_pushed_to_the_cache_registry_fills_an_empty_cache_elsewhere()
    {
        await using var registry = await LocalRegistry.StartAsync();
        var first = Path.Combine(_work, "first-cache");
        var entry = new RootfsCache(first).EntryFor(Digest);
        var root = Path.Combine(entry, "rootfs");
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Directory.CreateDirectory(Path.Combine(root, "usr/bin"));
        await File.WriteAllTextAsync(Path.Combine(root, "etc/os-release"), "ID=debian\n");
        await File.WriteAllTextAsync(Path.Combine(root, "usr/bin/tool"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(root, "usr/bin/tool"), (UnixFileMode)0b111_101_101);
        File.CreateSymbolicLink(Path.Combine(root, "bin"), "usr/bin");
        await File.WriteAllTextAsync(Path.Combine(entry, RootfsCache.RecipeFileName), "{}");
        var recipe = Path.Combine(_work, "recipe.json");
        await File.WriteAllTextAsync(recipe, "{}");

        var pushEngine = new RecordingBuildEngine();
        Assert.IsTrue(CacheTask("Push", first, recipe, registry.Host, pushEngine).Execute(),
            pushEngine.Log);
        Assert.IsEmpty(pushEngine.Warnings, pushEngine.Log);

        var second = Path.Combine(_work, "second-cache");
        var pullEngine = new RecordingBuildEngine();
        var pull = CacheTask("Pull", second, recipe, registry.Host, pullEngine);
        Assert.IsTrue(pull.Execute(), pullEngine.Log);

        Assert.IsTrue(pull.Found, pullEngine.Log);
        var copy = Path.Combine(new RootfsCache(second).EntryFor(Digest), "rootfs");
        Assert.AreEqual("ID=debian\n",
            await File.ReadAllTextAsync(Path.Combine(copy, "etc/os-release")));
        Assert.AreEqual((UnixFileMode)0b111_101_101,
            File.GetUnixFileMode(Path.Combine(copy, "usr/bin/tool")));
        Assert.AreEqual("usr/bin", new FileInfo(Path.Combine(copy, "bin")).LinkTarget);
    }

    private static RegistryBaseCacheTask CacheTask(string action, string cache, string recipe,
        string host, RecordingBuildEngine engine) => new()
    {
        BuildEngine = engine,
        Action = action,
        CacheRegistry = host + "/dtv-cache",
        Digest = Digest,
        CacheDirectory = cache,
        Architecture = "amd64",
        RecipeFile = recipe,
    };

    private static (PushImageTask Task, RecordingBuildEngine Engine) Push(string host,
        string image)
    {
        var engine = new RecordingBuildEngine();
        return (new PushImageTask
        {
            BuildEngine = engine,
            Registry = host,
            Repository = "it/app",
            Image = image,
            Tags = ["1.0", "latest"],
        }, engine);
    }

    private string Import(string name)
    {
        var root = Directory.CreateDirectory(Path.Combine(_work, name)).FullName;
        File.WriteAllText(Path.Combine(root, "marker"), name);
        var engine = new RecordingBuildEngine();
        var task = new DockerImportTask
        {
            BuildEngine = engine,
            RootDirectory = root,
            Repository = s_repository,
            Tag = name,
        };
        Assert.IsTrue(task.Execute(), engine.Log);
        return task.ImageId;
    }
}
