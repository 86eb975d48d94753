using DockerToVms.Tasks.Recipe;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Recipe;

/// <summary>
/// Bases of one project for two architectures: the architecture is part of the recipe, so
/// each has a digest, a cache entry and a base image tag of its own, and neither replaces the
/// other.
/// </summary>
[TestClass]
public sealed class ArchitectureCacheTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-arch-cache-");

    public void Dispose() => _folder.Dispose();

    private ResolveBaseRecipeTask Resolve(string runtimeIdentifier)
    {
        var engine = new RecordingBuildEngine();
        var task = new ResolveBaseRecipeTask
        {
            BuildEngine = engine,
            Suite = "trixie",
            Mirror = "http://deb.debian.org/debian",
            RuntimeIdentifier = runtimeIdentifier,
            CacheDirectory = _folder.Combine("cache"),
            RecipeFile = _folder.Combine($"obj/{runtimeIdentifier}/dockertovms/base-recipe.json"),
        };
        Assert.IsTrue(task.Execute(), engine.Log);
        return task;
    }

    private void Commit(ResolveBaseRecipeTask recipe)
    {
        var cache = new RootfsCache(_folder.Combine("cache"));
        var staging = cache.BeginStaging(recipe.Digest);
        Directory.CreateDirectory(Path.Combine(staging, RootfsCache.RootfsFolderName));
        cache.Commit(staging, recipe.Digest, File.ReadAllText(recipe.RecipeFile));
    }

    [TestMethod]
    public void Amd64_and_arm64_bases_of_one_project_live_side_by_side_in_the_cache()
    {
        var amd64 = Resolve("linux-x64");
        var arm64 = Resolve("linux-arm64");
        Commit(amd64);
        Commit(arm64);

        Assert.AreEqual("amd64", amd64.Architecture);
        Assert.AreEqual("arm64", arm64.Architecture);
        Assert.AreNotEqual(amd64.Digest, arm64.Digest);
        Assert.AreNotEqual(amd64.Digest[..12], arm64.Digest[..12], "base image tags differ");
        Assert.AreNotEqual(amd64.CacheEntry, arm64.CacheEntry);

        var cache = new RootfsCache(_folder.Combine("cache"));
        Assert.IsTrue(cache.Has(amd64.Digest));
        Assert.IsTrue(cache.Has(arm64.Digest));
        StringAssert.Contains(File.ReadAllText(Path.Combine(arm64.CacheEntry,
            RootfsCache.RecipeFileName)), "\"arm64\"");

        // Resolving again finds each architecture's own entry.
        Assert.IsTrue(Resolve("linux-x64").Cached);
        Assert.IsTrue(Resolve("linux-arm64").Cached);
        Assert.AreEqual(arm64.CacheEntry, Resolve("linux-arm64").CacheEntry);
    }

    [TestMethod]
    public void Linux_arm_is_armhf_and_has_its_own_entry_too()
    {
        var armhf = Resolve("linux-arm");
        var arm64 = Resolve("linux-arm64");

        Assert.AreEqual("armhf", armhf.Architecture);
        Assert.AreNotEqual(arm64.Digest, armhf.Digest);
        Assert.AreEqual(("arm", "v7"), DebianArchitecture.ToDocker(armhf.Architecture));
    }
}
