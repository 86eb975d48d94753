using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Bootstrap;

/// <summary>
/// A bootstrap for an architecture the machine does not run: debootstrap --foreign, a probe
/// that programs of that architecture run, then the second stage inside the root filesystem.
/// The runner runs nothing; the first stage's answer leaves what debootstrap would (a shell
/// and its log), so that the chroot steps find a root filesystem.
/// </summary>
[TestClass]
public sealed class TwoStageBootstrapTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-two-stage-");
    private readonly SocketsHttpHandler _handler = new() { UseProxy = false };

    public void Dispose()
    {
        _handler.Dispose();
        _folder.Dispose();
    }

    private string Root => _folder.Combine("rootfs");

    private (DebootstrapTask Task, RecordingBuildEngine Engine) Create(FakeToolRunner runner,
        string architecture = "arm64")
    {
        _folder.Write("mirror/dists/trixie/Release", "Suite: stable\n");
        var engine = new RecordingBuildEngine();
        var task = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = "trixie",
            Mirror = new Uri(_folder.Combine("mirror")).AbsoluteUri,
            TargetDirectory = Root,
            Architecture = architecture,
            HostArchitecture = "amd64",
            Runner = runner,
            Probe = new MirrorProbe(_handler),
        };
        return (task, engine);
    }

    // Answers each command the way the real tools would on a machine where emulation works,
    // unless the test says otherwise.
    private FakeToolRunner Runner(string machine = "aarch64", ToolResult? secondStage = null,
        ToolResult? probe = null) => new(command =>
    {
        var display = command.ToString();
        if (command.Arguments.Contains("debootstrap"))
        {
            _folder.Write("rootfs/bin/sh", "#!/bin/sh\n");
            _folder.CreateFolder("rootfs/usr/sbin");
            _folder.Write("rootfs/" + SecondStage.LogFile,
                string.Join('\n', Enumerable.Range(1, 30).Select(i => $"log line {i}")));
            return new ToolResult(0, []);
        }

        if (display.EndsWith("uname -m", StringComparison.Ordinal))
        {
            return probe ?? new ToolResult(0, [machine]);
        }

        return display.EndsWith("--second-stage", StringComparison.Ordinal)
            ? secondStage ?? new ToolResult(0, [])
            : new ToolResult(0, []);
    });

    private static bool Execute(DebootstrapTask task, RecordingBuildEngine engine)
    {
        if (!HostTools.IsRoot)
        {
            Assert.Inconclusive("The bootstrap checks for root before it runs anything.");
        }

        return task.Execute();
    }

    [TestMethod]
    public void Another_architecture_is_bootstrapped_foreign_then_probed_then_finished_inside()
    {
        var runner = Runner();
        var (task, engine) = Create(runner);

        Assert.IsTrue(Execute(task, engine), engine.Log);

        Assert.HasCount(3, runner.Commands, string.Join('\n', runner.Commands));
        var first = runner.Commands[0].Arguments;
        CollectionAssert.Contains(first.ToList(), "--foreign");
        CollectionAssert.Contains(first.ToList(), "--arch=arm64");

        // Both later steps run in the root filesystem through the chroot helper, in private
        // namespaces, so nothing the second stage mounts outlives it.
        foreach (var step in runner.Commands.Skip(1))
        {
            Assert.AreEqual("unshare", step.Program);
            CollectionAssert.IsSubsetOf(new[] { "--mount", "--pid", "--kill-child" },
                step.Arguments.ToList());
            CollectionAssert.Contains(step.Arguments.ToList(), Root);
        }

        Expect.Sequence(runner.Commands[1].Arguments.TakeLast(2), "uname", "-m");
        Expect.Sequence(runner.Commands[2].Arguments.TakeLast(2),
            "/debootstrap/debootstrap", "--second-stage");
        StringAssert.Contains(engine.Log, "uname -m: aarch64");
    }

    [TestMethod]
    public void The_machine_own_architecture_is_bootstrapped_in_one_stage()
    {
        var runner = Runner();
        var (task, engine) = Create(runner, architecture: "amd64");

        Assert.IsTrue(Execute(task, engine), engine.Log);

        Assert.HasCount(1, runner.Commands);
        CollectionAssert.DoesNotContain(runner.Commands[0].Arguments.ToList(), "--foreign");
    }

    [TestMethod]
    public void Foreign_alone_stops_after_the_first_stage()
    {
        var runner = Runner();
        var (task, engine) = Create(runner);
        task.Foreign = true;

        Assert.IsTrue(Execute(task, engine), engine.Log);

        Assert.HasCount(1, runner.Commands);
        CollectionAssert.Contains(runner.Commands[0].Arguments.ToList(), "--foreign");
    }

    [TestMethod]
    public void A_failing_second_stage_is_DTV1030_with_its_last_lines_and_its_log()
    {
        var runner = Runner(secondStage: new ToolResult(1,
            ["W: Failure trying to run: chroot \"/\" dpkg --force-depends --install x.deb"]));
        var (task, engine) = Create(runner);

        Assert.IsFalse(Execute(task, engine));

        Expect.Codes(engine, "DTV1030");
        var message = engine.Errors[0].Message;
        StringAssert.Contains(message, "--second-stage");
        StringAssert.Contains(message, "Failure trying to run");
        StringAssert.Contains(message, "log line 30");
        Assert.IsFalse(message.Contains("log line 20", StringComparison.Ordinal),
            "only the end of the log");
    }

    [TestMethod]
    public void Programs_that_do_not_run_are_DTV4008_before_the_second_stage()
    {
        var runner = Runner(probe: new ToolResult(126,
            ["chroot: failed to run command '/usr/bin/env': Exec format error"]));
        var (task, engine) = Create(runner);

        Assert.IsFalse(Execute(task, engine));

        Expect.Codes(engine, "DTV4008");
        StringAssert.Contains(engine.Errors[0].Message, "qemu-aarch64");
        StringAssert.Contains(engine.Errors[0].Message, "Exec format error");
        Assert.IsFalse(runner.Commands.Any(c => c.ToString().Contains("--second-stage",
            StringComparison.Ordinal)), "no second stage without emulation");
    }

    [TestMethod]
    public void Programs_that_report_another_processor_are_DTV4008()
    {
        var runner = Runner(machine: "x86_64");
        var (task, engine) = Create(runner);

        Assert.IsFalse(Execute(task, engine));

        Expect.Codes(engine, "DTV4008");
        StringAssert.Contains(engine.Errors[0].Message, "x86_64");
    }
}
