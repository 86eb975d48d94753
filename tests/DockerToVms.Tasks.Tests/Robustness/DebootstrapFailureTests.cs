using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Robustness;

/// <summary>
/// How a failed debootstrap is told apart: a flaky mirror is tried again a bounded number of
/// times, a bad signature and a full disk are reported as such at once.
/// </summary>
[TestClass]
public sealed class DebootstrapFailureTests : IDisposable
{
    private const string PackageUrl =
        "http://127.0.0.1:8080/debian/pool/main/b/base-files/base-files_13.8_amd64.deb";

    private readonly TemporaryDirectory _folder = new("dtv-debootstrap-failure-");
    private readonly SocketsHttpHandler _handler = new() { UseProxy = false };
    private readonly List<TimeSpan> _waits = [];

    public void Dispose()
    {
        _handler.Dispose();
        _folder.Dispose();
    }

    private (DebootstrapTask Task, RecordingBuildEngine Engine) Create(FakeToolRunner runner)
    {
        _folder.Write("mirror/dists/trixie/Release", "Suite: stable\n");
        var engine = new RecordingBuildEngine();
        var task = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = "trixie",
            Mirror = new Uri(_folder.Combine("mirror")).AbsoluteUri,
            TargetDirectory = _folder.Combine("rootfs"),
            Architecture = "amd64",
            Runner = runner,
            Probe = new MirrorProbe(_handler),
            Delay = (wait, _) =>
            {
                _waits.Add(wait);
                return Task.CompletedTask;
            },
        };
        return (task, engine);
    }

    private static ToolResult Failed(params string[] lines) => new(1, lines);

    private static ToolResult Download() => Failed(
        PackageUrl + ":", "2026-01-01 00:00:00 ERROR 503: Service Unavailable.",
        "W: Couldn't download package base-files (ver 13.8 arch amd64) at " + PackageUrl,
        "E: Couldn't download packages: base-files");

    [TestMethod]
    public void A_download_that_fails_once_is_tried_again_into_an_emptied_target()
    {
        var runs = 0;
        var runner = new FakeToolRunner(_ =>
        {
            runs++;
            Directory.CreateDirectory(_folder.Combine("rootfs"));
            File.WriteAllText(_folder.Combine($"rootfs/half-{runs}"), "x");
            return runs == 1 ? Download() : new ToolResult(0, []);
        });
        var (task, engine) = Create(runner);

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual(2, runner.Commands.Count);
        Expect.Sequence(Directory.EnumerateFileSystemEntries(_folder.Combine("rootfs"))
            .Select(Path.GetFileName), "half-2");
        Expect.Sequence(_waits, TimeSpan.FromSeconds(5));
        StringAssert.Contains(engine.Log, "ERROR 503");
    }

    [TestMethod]
    public void A_mirror_that_keeps_failing_is_reported_with_the_url_after_three_attempts()
    {
        var runner = new FakeToolRunner(_ => Download());
        var (task, engine) = Create(runner);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1023");
        Assert.AreEqual(3, runner.Commands.Count);
        Expect.Sequence(_waits, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
        StringAssert.Contains(engine.Errors[0].Message, PackageUrl);
        StringAssert.Contains(engine.Errors[0].Message, "ERROR 503");
    }

    [TestMethod]
    public void A_missing_file_on_the_mirror_is_not_tried_again()
    {
        var runner = new FakeToolRunner(_ => Failed(PackageUrl + ":",
            "ERROR 404: Not Found.", "E: Couldn't download packages: base-files"));
        var (task, engine) = Create(runner);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1009");
        Assert.AreEqual(1, runner.Commands.Count);
    }

    [TestMethod]
    public void A_release_signed_by_an_unknown_key_fails_with_DTV1021_without_retrying()
    {
        var runner = new FakeToolRunner(_ => Failed("I: Checking Release signature",
            "E: Release signed by unknown key (key id 762F67A0B2C39DE4)"));
        var (task, engine) = Create(runner);
        task.Keyring = _folder.Write("other.gpg", "not the archive's key");

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1021");
        Assert.AreEqual(1, runner.Commands.Count);
        StringAssert.Contains(engine.Errors[0].Message, "other.gpg");
        StringAssert.Contains(engine.Errors[0].Message, "762F67A0B2C39DE4");
    }

    [TestMethod]
    public void A_release_whose_signature_does_not_match_is_fetched_again_then_refused()
    {
        var runner = new FakeToolRunner(_ => Failed(
            "E: Invalid Release signature (key id 6ED0E7B82643E131)"));
        var (task, engine) = Create(runner);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1021");
        Assert.AreEqual(3, runner.Commands.Count);
    }

    [TestMethod]
    public void A_disk_that_fills_during_the_bootstrap_fails_with_DTV9012()
    {
        var runner = new FakeToolRunner(_ => Failed("I: Extracting libc6...") with
        {
            DiskFullLine = "tar: ./usr/lib/libc.so.6: Cannot write: No space left on device",
        });
        var (task, engine) = Create(runner);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV9012");
        Assert.AreEqual(1, runner.Commands.Count);
        StringAssert.Contains(engine.Errors[0].Message, _folder.Combine("rootfs"));
    }

    // debootstrap itself only says it could not download; wget's reason is in its log.
    [TestMethod]
    public void A_disk_that_fills_during_the_downloads_is_found_in_debootstrap_log()
    {
        var runner = new FakeToolRunner(_ =>
        {
            _folder.Write("rootfs/" + DebootstrapOutput.LogFile, PackageUrl + ":\n"
                + "Cannot write to '/x/var/cache/apt/archives/partial/a.deb' "
                + "(No space left on device).\n");
            return Failed("E: Couldn't download packages: base-files");
        });
        var (task, engine) = Create(runner);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV9012");
        Assert.AreEqual(1, runner.Commands.Count, "a full disk is not tried again");
    }

    [TestMethod]
    public void Signatures_are_always_checked_unless_the_project_opts_out()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);

        Assert.IsTrue(task.Execute(), engine.Log);

        var arguments = runner.Commands.Single().Arguments;
        CollectionAssert.Contains(arguments.ToList(), "--force-check-gpg");
        CollectionAssert.DoesNotContain(arguments.ToList(), "--no-check-gpg");
        Assert.IsEmpty(engine.WarningCodes);
    }

    [TestMethod]
    public void Allowing_an_unsigned_mirror_skips_the_check_and_warns_every_time()
    {
        var runner = new FakeToolRunner();
        for (var build = 0; build < 2; build++)
        {
            var (task, engine) = Create(runner);
            task.AllowUnsigned = true;
            task.Keyring = _folder.Write("keyring.gpg", "ignored");
            Directory.CreateDirectory(_folder.Combine("rootfs"));
            foreach (var leftover in Directory.EnumerateFiles(_folder.Combine("rootfs")))
            {
                File.Delete(leftover);
            }

            Assert.IsTrue(task.Execute(), engine.Log);

            Expect.Sequence(engine.WarningCodes, "DTV1022");
        }

        var arguments = runner.Commands[^1].Arguments.ToList();
        CollectionAssert.Contains(arguments, "--no-check-gpg");
        CollectionAssert.DoesNotContain(arguments, "--force-check-gpg");
        Assert.IsFalse(arguments.Any(a => a.StartsWith("--keyring", StringComparison.Ordinal)));
    }

    [TestMethod]
    [DataRow("E: Failed getting release file http://m/debian/dists/trixie/Release")]
    [DataRow("http://m/debian/pool/a.deb: Read error (Connection reset by peer) in headers.")]
    [DataRow("E: Couldn't download http://m/debian/dists/trixie/main/binary-amd64/Packages")]
    public void Failures_that_may_pass_are_recognised(string line)
    {
        var failure = DebootstrapOutput.Classify(Failed(line), []);

        Assert.AreEqual(DebootstrapFailureKind.Download, failure.Kind);
        StringAssert.StartsWith(failure.Url, "http://m/debian/");
    }

    [TestMethod]
    [DataRow("E: Invalid Release signature (key id 0E98404D386FA1D9)")]
    [DataRow("E: Keyring-based check was requested; aborting accordingly")]
    public void Signature_failures_are_recognised(string line) =>
        Assert.AreEqual(DebootstrapFailureKind.Signature,
            DebootstrapOutput.Classify(Failed(line), []).Kind);
}
