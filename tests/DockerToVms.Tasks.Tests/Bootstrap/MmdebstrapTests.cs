using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Bootstrap;

/// <summary>
/// The mmdebstrap backend: which bootstrapper a setting chooses, the command line it gets for
/// a recipe, and how the task reports its failures. The runner runs nothing.
/// </summary>
[TestClass]
public sealed class MmdebstrapTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-mmdebstrap-");
    private readonly SocketsHttpHandler _handler = new() { UseProxy = false };

    public void Dispose()
    {
        _handler.Dispose();
        _folder.Dispose();
    }

    private static DebootstrapOptions Options() => new()
    {
        Suite = "trixie",
        Mirror = "http://deb.debian.org/debian",
        TargetDirectory = "/var/tmp/rootfs",
        Architecture = "amd64",
    };

    private static Func<string, string?> Installed(params string[] programs) =>
        p => programs.Contains(p) ? "/usr/bin/" + p : null;

    private static string CodeOf(Action action)
    {
        return Assert.ThrowsExactly<DtvException>(action).Code;
    }

    [TestMethod]
    public void Auto_takes_mmdebstrap_when_it_is_installed()
    {
        var choice = BootstrapperSelection.Choose("auto", Options(), rootless: false,
            Installed("debootstrap", "mmdebstrap"));

        Assert.AreEqual(BootstrapperKind.Mmdebstrap, choice.Kind);
        Assert.AreEqual("mmdebstrap", choice.Name);
    }

    [TestMethod]
    public void Auto_and_an_empty_setting_take_debootstrap_without_mmdebstrap()
    {
        foreach (var setting in new[] { "auto", string.Empty, " Auto " })
        {
            var choice = BootstrapperSelection.Choose(setting, Options(), rootless: false,
                Installed("debootstrap"));

            Assert.AreEqual(BootstrapperKind.Debootstrap, choice.Kind, setting);
        }
    }

    [TestMethod]
    public void Auto_takes_debootstrap_when_the_recipe_leaves_packages_out()
    {
        var choice = BootstrapperSelection.Choose("auto",
            Options() with { Exclude = ["e2fsprogs"] }, rootless: false, Installed("debootstrap", "mmdebstrap"));

        Assert.AreEqual(BootstrapperKind.Debootstrap, choice.Kind);
    }

    [TestMethod]
    public void A_pinned_bootstrapper_is_used_even_when_the_other_is_installed()
    {
        var both = Installed("debootstrap", "mmdebstrap");

        Assert.AreEqual(BootstrapperKind.Debootstrap, BootstrapperSelection.Choose("debootstrap",
            Options(), false, both).Kind);
        Assert.AreEqual(BootstrapperKind.Mmdebstrap, BootstrapperSelection.Choose("mmdebstrap",
            Options(), false, both).Kind);
    }

    [TestMethod]
    public void An_ordinary_user_gets_mmdebstrap_with_auto()
    {
        var choice = BootstrapperSelection.Choose("auto", Options(), rootless: true,
            Installed("debootstrap", "mmdebstrap"));

        Assert.AreEqual(BootstrapperKind.Mmdebstrap, choice.Kind);
    }

    [TestMethod]
    public void Each_wrong_choice_has_its_own_code()
    {
        var both = Installed("debootstrap", "mmdebstrap");

        Assert.AreEqual("DTV9070", CodeOf(() =>
            BootstrapperSelection.Choose("cdebootstrap", Options(), false, both)));
        Assert.AreEqual("DTV1101", CodeOf(() =>
            BootstrapperSelection.Choose("mmdebstrap", Options(), false,
                Installed("debootstrap"))));
        Assert.AreEqual("DTV1101", CodeOf(() =>
            BootstrapperSelection.Choose("auto", Options(), true, Installed("debootstrap"))));
        Assert.AreEqual("DTV1103", CodeOf(() => BootstrapperSelection.Choose("mmdebstrap",
            Options() with { Exclude = ["e2fsprogs"] }, false, both)));
        Assert.AreEqual("DTV1104", CodeOf(() =>
            BootstrapperSelection.Choose("debootstrap", Options(), true, both)));
        Assert.AreEqual("DTV1008", CodeOf(() =>
            BootstrapperSelection.Choose("auto", Options(), false, Installed())));
    }

    [TestMethod]
    public void Mmdebstrap_runs_in_root_mode_in_private_namespaces_with_a_clean_environment()
    {
        var command = MmdebstrapCommand.Create(Options());

        Assert.AreEqual("unshare", command.Program);
        Expect.Sequence(command.Arguments.Take(11), "--mount", "--pid", "--propagation",
            "private", "--fork", "--kill-child", "--", "env", "-i",
            "PATH=" + DebootstrapCommand.CleanPath, "LC_ALL=C.UTF-8");
        CollectionAssert.Contains(command.Arguments.ToList(), "--mode=root");
        CollectionAssert.Contains(command.Arguments.ToList(), "TMPDIR=/var/tmp",
            "a killed bootstrap's temporary files go with its target");
        Assert.AreEqual(TimeSpan.Zero, command.GracePeriod);
    }

    [TestMethod]
    public void The_recipe_becomes_the_same_minbase_bootstrap_as_with_debootstrap()
    {
        var arguments = MmdebstrapCommand.CreateArguments(Options() with
        {
            Components = ["main", "contrib"],
            Include = ["ca-certificates"],
            Keyring = "/usr/share/keyrings/debian-archive-keyring.gpg",
        });

        Expect.Sequence(arguments.Take(4), "--mode=root", "--format=directory",
            "--variant=minbase", "--architectures=amd64");
        CollectionAssert.IsSubsetOf(new[]
        {
            "--components=main,contrib", "--include=ca-certificates",
            "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg",
            "--skip=cleanup/apt/lists",
        }, arguments.ToList());
        Expect.Sequence(arguments.TakeLast(3), "trixie", "/var/tmp/rootfs",
            "http://deb.debian.org/debian");

        // The bootstrap's own apt settings are removed from the image again.
        Assert.IsTrue(arguments.Any(a => a.StartsWith("--customize-hook=rm -f", StringComparison
            .Ordinal) && a.Contains("99mmdebstrap", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void A_suite_older_than_trixie_gets_debootstrap_merged_usr_links()
    {
        var bookworm = MmdebstrapCommand.CreateArguments(Options() with { Suite = "bookworm" });
        var trixie = MmdebstrapCommand.CreateArguments(Options());

        CollectionAssert.Contains(bookworm.ToList(),
            "--hook-dir=" + MmdebstrapCommand.MergedUsrHooks);
        Assert.IsFalse(trixie.Any(a => a.StartsWith("--hook-dir", StringComparison.Ordinal)),
            "trixie's base-files makes the links itself");
    }

    [TestMethod]
    public void An_unsigned_mirror_is_allowed_only_when_asked_for()
    {
        var strict = MmdebstrapCommand.CreateArguments(Options());
        var unsigned = MmdebstrapCommand.CreateArguments(Options() with { AllowUnsigned = true });

        Assert.IsFalse(strict.Any(a => a.Contains("AllowInsecure", StringComparison.Ordinal)));
        Assert.IsTrue(unsigned.Any(a => a.Contains("AllowInsecureRepositories \"true\"",
            StringComparison.Ordinal)));
    }

    [TestMethod]
    public void An_emulated_architecture_gets_a_probe_before_any_package_script()
    {
        var native = MmdebstrapCommand.CreateArguments(Options());
        var arm = MmdebstrapCommand.CreateArguments(Options() with { Architecture = "arm64" },
            emulated: true);

        Assert.IsFalse(native.Any(a => a.StartsWith("--extract-hook", StringComparison.Ordinal)));
        var hook = arm.Single(a => a.StartsWith("--extract-hook=", StringComparison.Ordinal));
        StringAssert.Contains(hook, "uname -m");
        StringAssert.Contains(hook, " aarch64 ");
    }

    private (DebootstrapTask Task, RecordingBuildEngine Engine) Create(FakeToolRunner runner,
        string architecture = "amd64")
    {
        _folder.Write("mirror/dists/trixie/Release", "Suite: stable\n");
        var engine = new RecordingBuildEngine();
        var task = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = "trixie",
            Mirror = new Uri(_folder.Combine("mirror")).AbsoluteUri,
            TargetDirectory = _folder.Combine("rootfs"),
            Architecture = architecture,
            HostArchitecture = "amd64",
            Bootstrapper = "mmdebstrap",
            InUserNamespace = false,
            Runner = runner,
            Probe = new MirrorProbe(_handler),
            Delay = (_, _) => Task.CompletedTask,
        };
        return (task, engine);
    }

    [TestMethod]
    public void The_log_says_which_bootstrapper_ran()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Bootstrapper = "auto";

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("mmdebstrap", task.BootstrapperUsed);
        StringAssert.Contains(engine.Log, "with mmdebstrap (auto: mmdebstrap is installed)");
        Assert.HasCount(1, runner.Commands);
        CollectionAssert.Contains(runner.Commands[0].Arguments.ToList(), "mmdebstrap");
    }

    [TestMethod]
    public void An_emulated_architecture_runs_in_one_go_without_a_second_stage()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner, architecture: "arm64");

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.HasCount(1, runner.Commands, string.Join('\n', runner.Commands));
        Assert.IsTrue(runner.Commands[0].Arguments.Any(a =>
            a.StartsWith("--extract-hook=", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void Emulation_that_does_not_work_is_DTV4008()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(1,
        [
            MmdebstrapCommand.MachineMarker + " chroot: failed to run command 'uname': "
                + "Exec format error",
            "E: command failed: ...",
        ]));
        var (task, engine) = Create(runner, architecture: "arm64");

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV4008");
    }

    [TestMethod]
    public void A_download_that_may_pass_is_retried_then_reported_as_DTV1023()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(1,
        [
            "E: Failed to fetch http://deb.debian.org/debian/pool/main/a/apt/apt_3.0.4_amd64.deb"
                + "  503  Service Unavailable [IP: 127.0.0.1 80]",
            "E: apt-get download failed",
        ]));
        var (task, engine) = Create(runner);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1023");
        Assert.HasCount(3, runner.Commands);
    }

    [TestMethod]
    public void A_key_the_keyring_lacks_is_DTV1021_at_once()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(1,
        [
            "W: GPG error: http://deb.debian.org/debian trixie InRelease: The following "
                + "signatures couldn't be verified because the public key is not available: "
                + "NO_PUBKEY 762F67A0B2C39DE4",
            "E: apt-get update -oAPT::Status-Fd=<$fd> -oDpkg::Use-Pty=false failed",
        ]));
        var (task, engine) = Create(runner);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1021");
        Assert.HasCount(1, runner.Commands);
    }

    [TestMethod]
    public void Any_other_failure_is_DTV1102_with_the_last_lines()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(1, ["E: something odd"]));
        var (task, engine) = Create(runner);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1102");
        StringAssert.Contains(engine.Log, "E: something odd");
    }

    [TestMethod]
    public void A_full_disk_in_apt_words_is_DTV9012()
    {
        foreach (var line in new[]
        {
            "E: Write error - write (28: No space left on device)",
            "E: You don't have enough free space in /var/tmp/rootfs/var/cache/apt/archives/.",
        })
        {
            var runner = new FakeToolRunner(_ => new ToolResult(1, [line, "E: mmdebstrap failed"]));
            var (task, engine) = Create(runner);

            Assert.IsFalse(task.Execute());

            Expect.Codes(engine, "DTV9012");
        }
    }

    [TestMethod]
    public void In_a_user_namespace_auto_takes_mmdebstrap_in_root_mode_and_retries_downloads()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(1,
            ["E: Failed to fetch http://deb.debian.org/debian/x.deb  503  Service Unavailable"]));
        var (task, engine) = Create(runner);
        task.InUserNamespace = true;
        task.Bootstrapper = "auto";
        task.ExcludePackages = [];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1023");
        Assert.HasCount(task.Attempts, runner.Commands);
        Assert.IsTrue(runner.Commands.All(c => c.Program == "unshare"
            && c.Arguments.Contains("--mode=root")));
    }

    [TestMethod]
    public void In_a_user_namespace_debootstrap_is_refused_before_any_download()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(0, []));
        var (task, engine) = Create(runner);
        task.InUserNamespace = true;
        task.Bootstrapper = "debootstrap";

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1104");
        Assert.IsEmpty(runner.Commands);
    }
}
