using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Robustness;

/// <summary>
/// The short form of eng/kill-test.sh: a cold publish interrupted with SIGINT during the
/// bootstrap, then one killed with SIGKILL during it, then one that must succeed and remove
/// what the killed one left. Both kills come early, so only the last publish bootstraps to
/// the end; the script's long form (20 kills at random moments of every stage) is run by
/// hand.
/// </summary>
[TestClass]
public sealed class KillTests
{
    [TestMethod]
    [Timeout(1_500_000, CooperativeCancellation = true)]
    public async Task A_publish_killed_or_interrupted_leaves_nothing_and_the_next_one_works()
    {
        var feed = await LocalFeed.GetAsync();
        var script = Path.Combine(LocalFeed.RepositoryRoot, "eng", "kill-test.sh");

        var run = await Shell.RunAsync(LocalFeed.RepositoryRoot, "env",
            $"DTV_KILL_TEST_FEED={feed}", $"DTV_KILL_TEST_VERSION={LocalFeed.Version}",
            "bash", script, "--plan", "INT:bootstrap KILL:bootstrap");

        Assert.AreEqual(0, run.ExitCode, run.Tail);
        StringAssert.Contains(run.Output, "kill-test: 2 of 2 kills survived", run.Tail);
    }
}
