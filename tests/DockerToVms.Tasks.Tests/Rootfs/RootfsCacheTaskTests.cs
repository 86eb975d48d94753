using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Rootfs;

[TestClass]
public sealed class RootfsCacheTaskTests : IDisposable
{
    private const string Digest =
        "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    private readonly TemporaryDirectory _folder = new("dtv-cachetask-");

    public void Dispose() => _folder.Dispose();

    private RootfsCacheTask Create(string action, RecordingBuildEngine engine) => new()
    {
        BuildEngine = engine,
        Action = action,
        CacheDirectory = _folder.Combine("cache"),
        Digest = Digest,
    };

    [TestMethod]
    public void A_staged_root_filesystem_can_be_committed_into_the_cache()
    {
        var engine = new RecordingBuildEngine();
        var begin = Create("Begin", engine);
        Assert.IsTrue(begin.Execute(), engine.Log);
        var recipe = _folder.Write("obj/recipe.json", "{\"suite\":\"trixie\"}");

        var commit = Create("Commit", engine);
        commit.StagingDirectory = begin.StagingDirectory;
        commit.RecipeFile = recipe;
        Assert.IsTrue(commit.Execute(), engine.Log);

        Assert.AreEqual(new RootfsCache(_folder.Combine("cache")).EntryFor(Digest),
            commit.EntryDirectory);
        Assert.AreEqual("{\"suite\":\"trixie\"}",
            File.ReadAllText(Path.Combine(commit.EntryDirectory, RootfsCache.RecipeFileName)));
        Assert.IsFalse(Directory.Exists(begin.StagingDirectory));
    }

    [TestMethod]
    public void A_failed_staging_can_be_discarded()
    {
        var engine = new RecordingBuildEngine();
        var begin = Create("Begin", engine);
        Assert.IsTrue(begin.Execute(), engine.Log);

        var discard = Create("Discard", engine);
        discard.StagingDirectory = begin.StagingDirectory;
        Assert.IsTrue(discard.Execute(), engine.Log);

        Assert.IsFalse(Directory.Exists(begin.StagingDirectory));
    }
}
