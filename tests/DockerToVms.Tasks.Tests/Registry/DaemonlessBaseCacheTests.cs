using DockerToVms.Tasks.Registry;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Registry;

/// <summary>
/// A base from the cache registry on a machine without a Docker daemon: the image goes to an
/// archive, which takes the base from the cache entry, so the base is used without a load.
/// </summary>
[TestClass]
public sealed class DaemonlessBaseCacheTests : IDisposable
{
    private const string Digest =
        "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    private readonly TemporaryDirectory _folder = new("dtv-daemonless-basecache-");

    public void Dispose() => _folder.Dispose();

    [TestMethod]
    public async Task A_base_from_the_cache_registry_is_used_when_no_daemon_can_load_it()
    {
        using var registry = new FakeRegistry();
        _folder.Write("pushing/rootfs/etc/hostname", "base\n");
        using (var client = new RegistryClient(
            RegistryReference.Parse(FakeRegistry.Host + "/dtv-cache", "test"), null, registry))
        {
            await RegistryBaseCache.PushAsync(client, Digest, _folder.Combine("pushing"),
                "amd64", _folder.CreateFolder("work"), (_, _) => { }, CancellationToken.None);
        }

        var engine = new RecordingBuildEngine();
        var task = new RegistryBaseCacheTask
        {
            BuildEngine = engine,
            Action = "Pull",
            CacheRegistry = FakeRegistry.Host + "/dtv-cache",
            Digest = Digest,
            CacheDirectory = _folder.Combine("cache"),
            Architecture = "amd64",
            RecipeFile = _folder.Write("obj/recipe.json", "{\"suite\":\"trixie\"}"),
            LoadAs = "dtv-base:fedcba987654",
            // Nothing listens here.
            DockerHost = "unix://" + _folder.Combine("docker.sock"),
            Handler = registry,
            Credentials = new RegistryCredentials(_ => null,
                (_, _, _) => Task.FromResult<string?>(null)),
        };

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsTrue(task.Found, engine.Log);
        Assert.IsEmpty(engine.Warnings, engine.Log);
        var entry = new RootfsCache(_folder.Combine("cache")).EntryFor(Digest);
        Assert.AreEqual("base\n", File.ReadAllText(Path.Combine(entry, "rootfs/etc/hostname")));
    }
}
