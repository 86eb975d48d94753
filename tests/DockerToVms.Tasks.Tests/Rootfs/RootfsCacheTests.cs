using System.Globalization;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Rootfs;

/// <summary>The cache: entries appear whole or not at all, and dead builds leave nothing.</summary>
[TestClass]
public sealed class RootfsCacheTests : IDisposable
{
    private const string Digest =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private readonly TemporaryDirectory _folder = new("dtv-cache-");
    private RootfsCache _cache = null!;

    [TestInitialize]
    public void CreateCache()
    {
        _cache = new RootfsCache(_folder.Combine("cache"));
    }

    public void Dispose() => _folder.Dispose();

    private string StagingFolder => _folder.Combine("cache/staging");

    // A process id above the kernel's limit never belongs to a running process.
    private static int DeadProcessId() =>
        int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max").Trim(),
            CultureInfo.InvariantCulture) + 1;

    private static int ParentProcessId()
    {
        // /proc/self/stat: pid (name) state ppid ...; the name may hold spaces.
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[1], CultureInfo.InvariantCulture);
    }

    private string Stage(string marker)
    {
        var staging = _cache.BeginStaging(Digest);
        Directory.CreateDirectory(Path.Combine(staging, RootfsCache.RootfsFolderName));
        File.WriteAllText(Path.Combine(staging, RootfsCache.RootfsFolderName, "marker"), marker);
        return staging;
    }

    [TestMethod]
    public void An_empty_cache_has_no_entry()
    {
        Assert.IsFalse(_cache.Has(Digest));
        Assert.AreEqual(_folder.Combine("cache/rootfs/" + Digest), _cache.EntryFor(Digest));
    }

    [TestMethod]
    public void Staging_gives_a_fresh_empty_folder_named_after_digest_and_process()
    {
        var staging = _cache.BeginStaging(Digest);

        Assert.IsTrue(Directory.Exists(staging));
        Assert.AreEqual(0, Directory.EnumerateFileSystemEntries(staging).Count());
        Assert.AreEqual(StagingFolder, Path.GetDirectoryName(staging));
        StringAssert.StartsWith(Path.GetFileName(staging),
            $"{Digest}-{Environment.ProcessId}-");
    }

    [TestMethod]
    public void Staging_again_gives_another_folder()
    {
        var first = Stage("first");

        var second = _cache.BeginStaging(Digest);

        Assert.AreNotEqual(first, second);
        Assert.AreEqual(0, Directory.EnumerateFileSystemEntries(second).Count());
    }

    // A reused MSBuild node outlives a cancelled build; its own earlier staging is stale.
    [TestMethod]
    public void Staging_left_by_an_earlier_build_in_this_process_is_removed()
    {
        var earlier = Stage("earlier");

        _cache.BeginStaging(Digest);

        Assert.IsFalse(Directory.Exists(earlier));
    }

    [TestMethod]
    public void A_committed_staging_becomes_the_entry()
    {
        var staging = Stage("first");

        var entry = _cache.Commit(staging, Digest, "{\"suite\":\"trixie\"}");

        Assert.AreEqual(_cache.EntryFor(Digest), entry);
        Assert.IsTrue(_cache.Has(Digest));
        Assert.IsFalse(Directory.Exists(staging));
        Assert.AreEqual("first", File.ReadAllText(Path.Combine(entry, "rootfs/marker")));
        Assert.AreEqual("{\"suite\":\"trixie\"}",
            File.ReadAllText(Path.Combine(entry, RootfsCache.RecipeFileName)));
    }

    [TestMethod]
    public void A_second_commit_of_the_same_digest_keeps_the_first_entry()
    {
        _cache.Commit(Stage("first"), Digest, "{}");
        var second = Stage("second");

        var entry = _cache.Commit(second, Digest, "{}");

        Assert.AreEqual(_cache.EntryFor(Digest), entry);
        Assert.AreEqual("first", File.ReadAllText(Path.Combine(entry, "rootfs/marker")));
        Assert.IsFalse(Directory.Exists(second), "the losing staging must be removed");
    }

    [TestMethod]
    public void An_entry_without_its_recipe_is_not_complete()
    {
        Directory.CreateDirectory(Path.Combine(_cache.EntryFor(Digest), "rootfs"));

        Assert.IsFalse(_cache.Has(Digest));
    }

    [TestMethod]
    public void Staging_left_by_a_build_that_died_is_removed()
    {
        var dead = Path.Combine(StagingFolder,
            $"0123456789ab-{DeadProcessId()}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(dead, "rootfs/etc"));
        File.WriteAllText(Path.Combine(dead, "rootfs/etc/hostname"), "x");

        _cache.BeginStaging(Digest);

        Assert.IsFalse(Directory.Exists(dead));
    }

    // A build that still runs holds its recipe's lock for as long as its staging exists.
    [TestMethod]
    public void Staging_of_a_build_that_still_runs_is_kept()
    {
        const string Other = "fedcba9876543210";
        var live = Path.Combine(StagingFolder,
            $"{Other}-{ParentProcessId()}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(live);
        using var held = CacheLock.TryAcquire(_cache.LockFileFor(Other));

        _cache.BeginStaging(Digest);

        Assert.IsTrue(Directory.Exists(live));
    }

    [TestMethod]
    public void A_discarded_staging_is_gone()
    {
        var staging = Stage("failed");

        RootfsCache.Discard(staging);

        Assert.IsFalse(Directory.Exists(staging));
        Assert.IsFalse(_cache.Has(Digest));
    }

    [TestMethod]
    public void Discarding_what_does_not_exist_does_nothing()
    {
        RootfsCache.Discard(_folder.Combine("cache/staging/none"));
    }

    [TestMethod]
    public void A_cache_folder_that_cannot_be_created_fails_with_DTV9005()
    {
        var file = _folder.Write("not-a-folder", "x");

        var error = Assert.ThrowsExactly<DtvException>(
            () => new RootfsCache(Path.Combine(file, "cache")));

        Assert.AreEqual("DTV9005", error.Code);
    }
}
