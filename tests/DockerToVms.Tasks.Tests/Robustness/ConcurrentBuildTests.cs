using System.Globalization;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Tests.Robustness;

/// <summary>
/// Two builds of one recipe at once: the second waits for the first, says so, and reuses the
/// entry; builds of other recipes do not wait; staging left by a dead build goes.
/// </summary>
[TestClass]
public sealed class ConcurrentBuildTests : IDisposable
{
    private const string Digest =
        "aaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccddddaaaabbbbccccdddd";

    private const string OtherDigest =
        "1111222233334444111122223333444411112222333344441111222233334444";

    private readonly TemporaryDirectory _folder = new("dtv-concurrent-");

    public void Dispose() => _folder.Dispose();

    private string CacheDirectory => _folder.Combine("cache");

    private RootfsCacheTask Create(string action, IBuildEngine engine,
        string digest = Digest) => new()
        {
            BuildEngine = engine,
            Action = action,
            CacheDirectory = CacheDirectory,
            Digest = digest,
        };

    private RootfsCacheTask Begin(IBuildEngine engine, string digest = Digest)
    {
        var begin = Create("Begin", engine, digest);
        Assert.IsTrue(begin.Execute());
        return begin;
    }

    private void Commit(RootfsCacheTask begun, IBuildEngine engine)
    {
        Directory.CreateDirectory(Path.Combine(begun.StagingDirectory, "rootfs"));
        var commit = Create("Commit", engine, begun.Digest);
        commit.StagingDirectory = begun.StagingDirectory;
        commit.RecipeFile = _folder.Write("recipe.json", "{}");
        Assert.IsTrue(commit.Execute());
    }

    [TestMethod]
    public async Task A_second_build_of_the_same_recipe_waits_then_reuses_the_entry()
    {
        var firstEngine = new RecordingBuildEngine();
        var first = Begin(firstEngine);
        var secondEngine = new RecordingBuildEngine();
        var second = Create("Begin", secondEngine);

        var waiting = Task.Run(second.Execute);
        await Task.Delay(1500);
        Assert.IsFalse(waiting.IsCompleted, "the second build waits for the first");
        Commit(first, firstEngine);

        Assert.IsTrue(await waiting.WaitAsync(TimeSpan.FromSeconds(10)), secondEngine.Log);
        Assert.IsTrue(second.Found);
        Assert.AreEqual(string.Empty, second.StagingDirectory, "nothing to build");
        var told = secondEngine.Messages.Where(m => m.Message!.Contains(Digest[..12],
            StringComparison.Ordinal) && m.Importance == MessageImportance.High).ToList();
        Assert.IsTrue(told.Any(m => m.Message!.Contains("waiting", StringComparison.Ordinal)),
            secondEngine.Log);
    }

    [TestMethod]
    public async Task A_build_waiting_for_a_failed_one_builds_the_entry_itself()
    {
        var firstEngine = new RecordingBuildEngine();
        var first = Begin(firstEngine);
        var second = Create("Begin", new RecordingBuildEngine());

        var waiting = Task.Run(second.Execute);
        await Task.Delay(500);
        var discard = Create("Discard", firstEngine);
        discard.StagingDirectory = first.StagingDirectory;
        Assert.IsTrue(discard.Execute());

        Assert.IsTrue(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.IsFalse(second.Found);
        Assert.IsTrue(Directory.Exists(second.StagingDirectory));
    }

    [TestMethod]
    public async Task Builds_of_different_recipes_do_not_wait_for_each_other()
    {
        var first = Begin(new RecordingBuildEngine());

        var other = Task.Run(() => Begin(new RecordingBuildEngine(), OtherDigest));

        var began = await other.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsTrue(Directory.Exists(began.StagingDirectory));
        Assert.IsTrue(Directory.Exists(first.StagingDirectory), "the first build's is kept");
    }

    [TestMethod]
    public void Staging_whose_build_died_is_removed_even_if_its_process_id_lives_again()
    {
        // Named after this very (live) process, but nobody holds the recipe's lock.
        var left = Path.Combine(CacheDirectory, "staging", string.Create(
            CultureInfo.InvariantCulture, $"{OtherDigest}-{Environment.ProcessId}-0"));
        Directory.CreateDirectory(Path.Combine(left, "rootfs/etc"));

        Begin(new RecordingBuildEngine());

        Assert.IsFalse(Directory.Exists(left));
    }

    [TestMethod]
    public void The_lock_is_released_when_the_build_ends_without_commit_or_discard()
    {
        var engine = new BuildLifetimeEngine();
        var first = Begin(engine);
        var cache = new RootfsCache(CacheDirectory);
        Assert.IsNull(CacheLock.TryAcquire(cache.LockFileFor(Digest)));

        // What MSBuild does with the objects a task registered, when a build ends.
        engine.EndBuild();

        Assert.IsFalse(Directory.Exists(first.StagingDirectory), "the staging is removed");
        using var free = CacheLock.TryAcquire(cache.LockFileFor(Digest));
        Assert.IsNotNull(free);
    }

    [TestMethod]
    public void Too_little_free_space_for_a_bootstrap_fails_before_anything_is_staged()
    {
        var engine = new RecordingBuildEngine();
        var begin = Create("Begin", engine);
        begin.MinimumFreeSpace = long.MaxValue / 1048576;

        Assert.IsFalse(begin.Execute());

        Expect.Codes(engine, "DTV9011");
        Assert.IsEmpty(Directory.EnumerateFileSystemEntries(
            Path.Combine(CacheDirectory, "staging")));
        using var free = CacheLock.TryAcquire(new RootfsCache(CacheDirectory).LockFileFor(Digest));
        Assert.IsNotNull(free, "the lock is not kept after the failure");
    }

    [TestMethod]
    public void An_entry_without_its_recipe_is_replaced_by_the_next_commit()
    {
        var cache = new RootfsCache(CacheDirectory);
        Directory.CreateDirectory(Path.Combine(cache.EntryFor(Digest), "rootfs", "half"));
        var engine = new RecordingBuildEngine();

        Commit(Begin(engine), engine);

        Assert.IsTrue(cache.Has(Digest));
        Assert.IsFalse(Directory.Exists(Path.Combine(cache.EntryFor(Digest), "rootfs", "half")));
    }

    [TestMethod]
    public void A_full_disk_in_the_library_own_file_work_is_reported_as_DTV9012()
    {
        var engine = new RecordingBuildEngine();

        Assert.IsFalse(new DiskFullProbe { BuildEngine = engine }.Execute());

        Expect.Codes(engine, "DTV9012");
        StringAssert.Contains(engine.Errors[0].Message, "/dev/full");
    }

    /// <summary>A task that writes to /dev/full, which the kernel answers with ENOSPC.</summary>
    private sealed class DiskFullProbe : AsyncTask
    {
        protected override Task ExecuteAsync(CancellationToken cancellation)
        {
            using var full = new FileStream("/dev/full", FileMode.Open, FileAccess.Write);
            full.Write(new byte[4096]);
            full.Flush();
            return Task.CompletedTask;
        }
    }
}
