using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Bootstrap;

/// <summary>
/// The checks the bootstrap makes before it starts, with a runner that runs nothing and a
/// mirror in a local folder. The task checks for root after its input checks and before it
/// looks for its tools, so the tests that get past the input checks expect to run as root,
/// as the test suite does in CI.
/// </summary>
[TestClass]
public sealed class DebootstrapTaskTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-debootstrap-");
    private readonly SocketsHttpHandler _handler = new() { UseProxy = false };
    private string _mirror = string.Empty;

    [TestInitialize]
    public void CreateMirror()
    {
        _folder.Write("mirror/dists/trixie/Release", "Suite: stable\n");
        _mirror = new Uri(_folder.Combine("mirror")).AbsoluteUri;
    }

    public void Dispose()
    {
        _handler.Dispose();
        _folder.Dispose();
    }

    private (DebootstrapTask Task, RecordingBuildEngine Engine) Create(FakeToolRunner runner)
    {
        var engine = new RecordingBuildEngine();
        var task = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = "trixie",
            Mirror = _mirror,
            TargetDirectory = _folder.Combine("rootfs"),
            Architecture = "amd64",
            Runner = runner,
            Probe = new MirrorProbe(_handler),
        };
        return (task, engine);
    }

    private static void AssertFailsWith(string code, DebootstrapTask task,
        RecordingBuildEngine engine, FakeToolRunner runner)
    {
        Assert.IsFalse(task.Execute(), engine.Log);
        Expect.Codes(engine, code);
        Assert.AreEqual(0, runner.Commands.Count, "nothing may run after a failed check");
    }

    [TestMethod]
    public void Bootstrapping_into_the_machine_root_is_refused()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.TargetDirectory = "/";

        AssertFailsWith("DTV1006", task, engine, runner);
    }

    [TestMethod]
    public void Bootstrapping_into_the_machine_root_by_a_roundabout_path_is_refused()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.TargetDirectory = "/tmp/../";

        AssertFailsWith("DTV1006", task, engine, runner);
    }

    [TestMethod]
    public void Bootstrapping_into_a_folder_with_files_is_refused()
    {
        _folder.Write("rootfs/leftover.txt", "x");
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);

        AssertFailsWith("DTV1007", task, engine, runner);
        Assert.IsTrue(File.Exists(_folder.Combine("rootfs/leftover.txt")));
    }

    [TestMethod]
    public void A_missing_keyring_is_refused()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Keyring = _folder.Combine("missing.gpg");

        AssertFailsWith("DTV1010", task, engine, runner);
    }

    [TestMethod]
    public void An_unknown_architecture_is_refused()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Architecture = "x86_64";

        AssertFailsWith("DTV1005", task, engine, runner);
    }

    [TestMethod]
    public void A_bad_suite_or_mirror_is_refused_before_anything_runs()
    {
        var runner = new FakeToolRunner();
        var (badSuite, suiteEngine) = Create(runner);
        badSuite.Suite = "Trixie";
        AssertFailsWith("DTV1001", badSuite, suiteEngine, runner);

        var (badMirror, mirrorEngine) = Create(runner);
        badMirror.Mirror = "ftp://deb.debian.org/debian";
        AssertFailsWith("DTV1003", badMirror, mirrorEngine, runner);
    }

    [TestMethod]
    public void A_missing_debootstrap_is_reported_with_what_to_install()
    {
        var runner = new FakeToolRunner(null, "debootstrap");
        var (task, engine) = Create(runner);

        AssertFailsWith("DTV1008", task, engine, runner);
    }

    [TestMethod]
    public void A_missing_unshare_is_reported()
    {
        var runner = new FakeToolRunner(null, "unshare");
        var (task, engine) = Create(runner);

        AssertFailsWith("DTV1013", task, engine, runner);
    }

    [TestMethod]
    public void A_suite_the_mirror_lacks_is_reported_before_debootstrap_runs()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Suite = "bookworm";

        AssertFailsWith("DTV1002", task, engine, runner);
    }

    [TestMethod]
    public void Debootstrap_runs_with_the_checked_inputs()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Components = ["main", "contrib"];
        task.IncludePackages = ["curl"];

        Assert.IsTrue(task.Execute(), engine.Log);

        var command = runner.Commands.Single();
        Assert.AreEqual("unshare", command.Program);
        var expected = DebootstrapCommand.CreateArguments(new DebootstrapOptions
        {
            Suite = "trixie",
            Mirror = _mirror,
            TargetDirectory = _folder.Combine("rootfs"),
            Architecture = "amd64",
            Components = ["main", "contrib"],
            Include = ["curl"],
        });
        var debootstrap = command.Arguments.ToList().IndexOf("debootstrap");
        CollectionAssert.AreEqual(expected.ToList(),
            command.Arguments.Skip(debootstrap + 1).ToList());
    }

    [TestMethod]
    public void An_empty_existing_target_is_accepted()
    {
        _folder.CreateFolder("rootfs");
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual(1, runner.Commands.Count);
    }

    [TestMethod]
    public void A_failing_debootstrap_is_reported_with_its_exit_code()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(1, ["E: Invalid Release file"]));
        var (task, engine) = Create(runner);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1009");
        StringAssert.Contains(engine.Errors[0].Message, "E: Invalid Release file");
    }
}
