using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Docker.Daemonless;

/// <summary>
/// The build host check on a machine where no daemon answers: the image then goes to an
/// archive, unless the build cannot do without a daemon.
/// </summary>
[TestClass]
public sealed class BuildHostWithoutDaemonTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-nodaemon-");

    public void Dispose() => _folder.Dispose();

    private CheckBuildHostTask Task(RecordingBuildEngine engine, bool requireDaemon,
        bool archiveRequested = false) => new()
    {
        BuildEngine = engine,
        Runner = new FakeToolRunner(),
        // A socket in an empty folder: nothing listens there.
        DockerHost = "unix://" + _folder.Combine("docker.sock"),
        RequireDaemon = requireDaemon,
        ArchiveRequested = archiveRequested,
    };

    [TestMethod]
    public void I_can_build_without_a_daemon_and_am_told_the_image_goes_to_an_archive()
    {
        var engine = new RecordingBuildEngine();
        var task = Task(engine, requireDaemon: false);

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsFalse(task.DaemonAvailable);
        Assert.IsEmpty(engine.Errors);
        StringAssert.Contains(engine.Log, "archive");
    }

    [TestMethod]
    public void A_build_that_needs_a_daemon_still_fails_with_DTV3001()
    {
        var engine = new RecordingBuildEngine();

        Assert.IsFalse(Task(engine, requireDaemon: true).Execute());

        Expect.Codes(engine, "DTV3001");
    }

    [TestMethod]
    public void With_an_archive_asked_for_no_daemon_is_asked()
    {
        var engine = new RecordingBuildEngine();
        var task = Task(engine, requireDaemon: false, archiveRequested: true);

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsFalse(task.DaemonAvailable);
        Assert.IsFalse(engine.Log.Contains("no Docker daemon", StringComparison.Ordinal));
    }
}
