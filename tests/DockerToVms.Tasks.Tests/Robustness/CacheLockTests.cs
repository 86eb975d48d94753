using System.Diagnostics;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Robustness;

/// <summary>The kernel-held lock that keeps two builds of one recipe from building it twice.</summary>
[TestClass]
public sealed class CacheLockTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-lock-");

    public void Dispose() => _folder.Dispose();

    private string LockFile => _folder.Combine("entry.lock");

    [TestMethod]
    public void A_held_lock_cannot_be_taken_again_until_it_is_released()
    {
        using (var first = CacheLock.TryAcquire(LockFile))
        {
            Assert.IsNotNull(first);
            Assert.IsNull(CacheLock.TryAcquire(LockFile), "the lock is exclusive");
        }

        using var again = CacheLock.TryAcquire(LockFile);
        Assert.IsNotNull(again, "released on dispose");
    }

    [TestMethod]
    public async Task A_waiting_build_is_told_once_who_holds_the_lock_and_gets_it_when_released()
    {
        var first = await CacheLock.AcquireAsync(LockFile, "building 0123456789ab",
            _ => Assert.Fail("nobody held it"), CancellationToken.None);
        var told = new List<string>();

        var second = CacheLock.AcquireAsync(LockFile, "second", told.Add,
            CancellationToken.None);
        await Task.Delay(1000);
        Assert.IsFalse(second.IsCompleted, "waits while the lock is held");
        first.Dispose();
        using var taken = await second.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.HasCount(1, told);
        StringAssert.Contains(told[0], $"process {Environment.ProcessId}");
        StringAssert.Contains(told[0], "building 0123456789ab");
    }

    [TestMethod]
    public async Task A_cancelled_wait_ends_without_the_lock()
    {
        using var first = CacheLock.TryAcquire(LockFile);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAsync<OperationCanceledException>(() =>
            CacheLock.AcquireAsync(LockFile, "second", _ => { }, cancel.Token));
    }

    // util-linux flock takes the same kernel lock as .NET does; SIGKILL gives it no chance to
    // release anything itself. --no-fork makes the holder one process: a forked sleep would
    // share the lock and could outlive flock by a moment after both are killed.
    [TestMethod]
    public async Task A_lock_held_by_a_killed_process_is_free_at_once()
    {
        using var holder = Process.Start(new ProcessStartInfo("flock",
            ["--exclusive", "--no-fork", LockFile, "sleep", "60"]))!;
        for (var i = 0; i < 50 && CacheLock.TryAcquire(LockFile) is { } early; i++)
        {
            early.Dispose();
            await Task.Delay(100);
        }

        Assert.IsNull(CacheLock.TryAcquire(LockFile), "the other process holds it");
        holder.Kill(entireProcessTree: true);
        await holder.WaitForExitAsync();

        using var taken = CacheLock.TryAcquire(LockFile);
        Assert.IsNotNull(taken);
    }
}
