using System.Text.Json.Nodes;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Execution;

/// <summary>
/// A task run by the task host tells the build what it would tell it run in the build
/// itself: the same errors, its messages, its outputs and whether it succeeded.
/// </summary>
[TestClass]
public sealed class TaskHostServerTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-taskhost-");

    public void Dispose() => _folder.Dispose();

    [TestMethod]
    public void A_step_that_fails_in_the_host_reports_the_error_it_reports_in_the_build()
    {
        RequireRoot();
        var missing = _folder.Combine("not-bootstrapped");
        var inBuild = new RecordingBuildEngine();
        Assert.IsFalse(new TrimRootfsTask { BuildEngine = inBuild, RootDirectory = missing }
            .Execute());

        var (exitCode, replayed, outputs) = Serve(new TrimRootfsTask { RootDirectory = missing });

        Assert.AreEqual(1, exitCode);
        Expect.Codes(inBuild, "DTV2001");
        Expect.Codes(replayed, "DTV2001");
        Assert.AreEqual(inBuild.Errors[0].Message, replayed.Errors[0].Message);
        Assert.AreEqual(inBuild.Errors[0].File, replayed.Errors[0].File);
        Assert.IsNotNull(outputs);
    }

    [TestMethod]
    public void A_step_that_succeeds_in_the_host_sends_back_its_outputs()
    {
        RequireRoot();
        _folder.Write("bin/sh", string.Empty);
        _folder.WriteBytes("var/log/dpkg.log", 3 * 1048576);
        var inBuild = new TrimRootfsTask { RootDirectory = _folder.Path };

        var (exitCode, replayed, outputs) = Serve(new TrimRootfsTask
        {
            RootDirectory = _folder.Path,
        });

        Assert.AreEqual(0, exitCode, replayed.Log);
        Expect.Codes(replayed);
        Assert.IsTrue(replayed.Messages.Any(m => m.Importance == MessageImportance.High),
            replayed.Log);
        Assert.IsNotNull(outputs);
        TaskHostProtocol.ReadOutputs(outputs, inBuild);
        Assert.AreEqual(3L * 1048576, inBuild.RemovedBytes);
        Assert.IsFalse(File.Exists(_folder.Combine("var/log/dpkg.log")));
    }

    [TestMethod]
    public void A_step_that_throws_in_the_host_is_an_error_with_its_exception_not_a_crash()
    {
        var (exitCode, replayed, outputs) = Serve(new ThrowingTask());

        Assert.AreEqual(1, exitCode);
        Expect.Codes(replayed, "DTV2103");
        StringAssert.Contains(replayed.Errors[0].Message, "the disk went away");
        Assert.IsNotNull(outputs, "the outputs line still ends the host's report");
    }

    // As an ordinary user a task hands itself to a host of its own; the host these tests play
    // runs as the namespace's root, so only root runs the task here as the host would.
    private static void RequireRoot()
    {
        if (!HostTools.IsRoot)
        {
            Assert.Inconclusive("The task host runs its task as root.");
        }
    }

    // Runs the task as the host does and logs its lines as the build does.
    private static (int ExitCode, RecordingBuildEngine Replayed, JsonObject? Outputs) Serve(
        ITask task)
    {
        var request = TaskHostProtocol.WriteRequest(task, Directory.GetCurrentDirectory());
        var events = new StringWriter();
        int exitCode;
        using (var input = new BuildInput(request))
        {
            exitCode = TaskHostServer.Serve(input, events);
        }

        var replayed = new RecordingBuildEngine();
        var log = new TaskLoggingHelper(replayed, task.GetType().Name);
        JsonObject? outputs = null;
        using var lines = new StringReader(events.ToString());
        while (lines.ReadLine() is { } line)
        {
            outputs = TaskHostProtocol.Replay(JsonNode.Parse(line)!.AsObject(), log) ?? outputs;
        }

        return (exitCode, replayed, outputs);
    }

    // The build keeps the host's input open while the task runs: its end cancels the task.
    private sealed class BuildInput(string request) : TextReader
    {
        private readonly ManualResetEventSlim _closed = new();
        private string? _request = request;

        public override string? ReadLine() => Interlocked.Exchange(ref _request, null);

        public override string ReadToEnd()
        {
            _closed.Wait();
            return string.Empty;
        }

        // The event is left to the collector: the host's reader may still be waiting on it.
        protected override void Dispose(bool disposing)
        {
            _closed.Set();
            base.Dispose(disposing);
        }
    }

    // A task that fails the way no task of the library should: with an exception.
    public sealed class ThrowingTask : ITask
    {
        public IBuildEngine? BuildEngine { get; set; }

        public ITaskHost? HostObject { get; set; }

        public bool Execute() => throw new InvalidOperationException("the disk went away");
    }
}
