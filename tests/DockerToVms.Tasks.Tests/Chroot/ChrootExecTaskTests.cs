using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Chroot;

/// <summary>
/// Customising a root filesystem, with a fake root filesystem (a folder with an empty
/// bin/sh) and a runner that runs nothing. The task checks for root after reading its items
/// and before it opens the root filesystem, so the tests that get that far expect to run as
/// root, as the test suite does in CI.
/// </summary>
[TestClass]
public sealed class ChrootExecTaskTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-chroot-");
    private string _root = string.Empty;

    [TestInitialize]
    public void CreateRootfs()
    {
        _root = _folder.CreateFolder("rootfs");
        _folder.Write("rootfs/bin/sh", string.Empty);
        _folder.CreateFolder("rootfs/etc");
        _folder.CreateFolder("rootfs/usr/sbin");
    }

    public void Dispose() => _folder.Dispose();

    private (ChrootExecTask Task, RecordingBuildEngine Engine) Create(FakeToolRunner runner)
    {
        var engine = new RecordingBuildEngine();
        var task = new ChrootExecTask { BuildEngine = engine, RootDirectory = _root };
        task.Runner = runner;
        return (task, engine);
    }

    private static TaskItem FileItem(string source, string destination, string mode = "") =>
        new(source, new Dictionary<string, string>
        {
            [ChrootExecTask.DestinationMetadata] = destination,
            [ChrootExecTask.ModeMetadata] = mode,
        });

    // The program and arguments given to chroot.sh, after the clean environment.
    private static List<string> GuestCommand(ToolCommand command)
    {
        var arguments = command.Arguments.ToList();
        var start = arguments.IndexOf("DEBIAN_FRONTEND=noninteractive") + 1;
        return arguments.Skip(start).ToList();
    }

    [TestMethod]
    public void A_command_in_metadata_wins_over_the_item_spec()
    {
        var item = new TaskItem("run", new Dictionary<string, string>
        {
            [ChrootExecTask.CommandMetadata] = "apt-get update; apt-get clean",
        });

        Assert.AreEqual("apt-get update; apt-get clean", ChrootExecTask.CommandOf(item));
    }

    [TestMethod]
    public void A_command_without_metadata_is_the_item_spec()
    {
        Assert.AreEqual("echo hello", ChrootExecTask.CommandOf(new TaskItem("echo hello")));
    }

    [TestMethod]
    public void A_folder_without_a_shell_is_not_a_root_filesystem()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.RootDirectory = _folder.Combine("empty");
        task.Commands = [new TaskItem("true")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2001");
        Assert.AreEqual(0, runner.Commands.Count);
    }

    [TestMethod]
    public void A_missing_unshare_is_reported()
    {
        var runner = new FakeToolRunner(null, "unshare");
        var (task, engine) = Create(runner);
        task.Commands = [new TaskItem("true")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1013");
    }

    [TestMethod]
    public void Commands_run_in_order_in_the_root_filesystem_with_the_given_environment()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Commands = [new TaskItem("echo one"), new TaskItem("echo two")];
        task.EnvironmentVariables = [new TaskItem("GREETING", new Dictionary<string, string>
        {
            [ChrootExecTask.ValueMetadata] = "hello world",
        })];

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual(2, runner.Commands.Count);
        Assert.IsTrue(runner.Commands.All(c => c.Program == "unshare"));
        Expect.Sequence(GuestCommand(runner.Commands[0]),
            "GREETING=hello world", "/bin/sh", "-c", "echo one");
        Expect.Sequence(GuestCommand(runner.Commands[1]),
            "GREETING=hello world", "/bin/sh", "-c", "echo two");
        Assert.AreEqual($"chroot {_root} echo one", runner.Commands[0].ToString());
        CollectionAssert.Contains(runner.Commands[0].Arguments.ToList(), _root);
    }

    [TestMethod]
    public void Commands_get_only_the_clean_environment_of_the_image()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Commands = [new TaskItem("env")];

        Assert.IsTrue(task.Execute(), engine.Log);

        var arguments = runner.Commands.Single().Arguments.ToList();
        var env = arguments.IndexOf("/usr/bin/env");
        Expect.Sequence(arguments.Skip(env),
            "/usr/bin/env", "-i", "PATH=" + ChrootSession.GuestPath, "HOME=/root", "LANG=C.UTF-8",
            "DEBIAN_FRONTEND=noninteractive", "/bin/sh", "-c", "env");
    }

    [TestMethod]
    public void A_failing_command_stops_the_steps_with_DTV2002()
    {
        var runner = new FakeToolRunner(c => GuestCommand(c)[^1] == "false"
            ? new ToolResult(3, ["it broke"])
            : new ToolResult(0, []));
        var (task, engine) = Create(runner);
        task.Commands = [new TaskItem("true"), new TaskItem("false"), new TaskItem("echo")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2002");
        Assert.AreEqual(2, runner.Commands.Count);
        StringAssert.Contains(engine.Errors[0].Message, "it broke");
    }

    [TestMethod]
    public void A_package_the_archive_lacks_fails_with_DTV2003_naming_it()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(100,
            ["Reading package lists...", "dockertovms-missing-packages: foo"]));
        var (task, engine) = Create(runner);
        task.Packages = ["curl", "foo"];
        task.Commands = [new TaskItem("echo after")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2003");
        Assert.AreEqual(1, runner.Commands.Count, "no command runs after a failed install");
        StringAssert.Contains(engine.Errors[0].Message, " foo ");
    }

    [TestMethod]
    public void Packages_are_installed_by_the_shipped_script_before_the_commands()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Packages = ["@libssl", "curl"];
        task.Commands = [new TaskItem("echo after")];

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual(2, runner.Commands.Count);
        var install = GuestCommand(runner.Commands[0]);
        Expect.Sequence(install.Take(2), "/bin/sh", "-c");
        Assert.AreEqual(ChrootSession.Script("install-packages.sh"), install[2]);
        Expect.Sequence(install.Skip(3), "install-packages.sh", "@libssl", "curl");
        Assert.AreEqual($"chroot {_root} apt-get install @libssl curl",
            runner.Commands[0].ToString());
    }

    [TestMethod]
    public void A_failed_install_without_the_marker_fails_with_DTV2002()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(100, ["E: dpkg was interrupted"]));
        var (task, engine) = Create(runner);
        task.Packages = ["curl"];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2002");
    }

    [TestMethod]
    public void A_bad_package_name_is_refused_before_anything_runs()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Packages = ["Curl"];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1011");
        Assert.AreEqual(0, runner.Commands.Count);
    }

    [TestMethod]
    public void A_bad_environment_variable_name_is_refused()
    {
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.EnvironmentVariables = [new TaskItem("MY-VAR")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV3008");
    }

    [TestMethod]
    public void A_file_is_copied_in_with_its_mode()
    {
        var source = _folder.Write("files/app.conf", "x=1\n");
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Files = [FileItem(source, "/etc/app/app.conf", "0600")];

        Assert.IsTrue(task.Execute(), engine.Log);

        var copied = Path.Combine(_root, "etc/app/app.conf");
        Assert.AreEqual("x=1\n", File.ReadAllText(copied));
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite,
            File.GetUnixFileMode(copied));
    }

    [TestMethod]
    public void A_file_without_a_mode_gets_0644()
    {
        var source = _folder.Write("files/app.conf", "x=1\n");
        File.SetUnixFileMode(source, UnixFileMode.UserRead | UnixFileMode.UserWrite
            | UnixFileMode.UserExecute);
        var (task, engine) = Create(new FakeToolRunner());
        task.Files = [FileItem(source, "/etc/app.conf")];

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual(ChrootSession.ParseMode("0644"),
            File.GetUnixFileMode(Path.Combine(_root, "etc/app.conf")));
    }

    [TestMethod]
    public void A_file_is_not_copied_through_a_link_that_leaves_the_root_filesystem()
    {
        var outside = _folder.CreateFolder("outside");
        File.CreateSymbolicLink(Path.Combine(_root, "opt"), "../outside");
        var source = _folder.Write("files/app.conf", "x=1\n");
        var (task, engine) = Create(new FakeToolRunner());
        task.Files = [FileItem(source, "/opt/app.conf")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2007");
        Assert.AreEqual(0, Directory.EnumerateFileSystemEntries(outside).Count());
    }

    [TestMethod]
    public void A_file_copied_through_a_relative_link_lands_inside_the_root_filesystem()
    {
        _folder.CreateFolder("rootfs/srv/data");
        File.CreateSymbolicLink(Path.Combine(_root, "opt"), "srv/data");
        var source = _folder.Write("files/app.conf", "x=1\n");
        var (task, engine) = Create(new FakeToolRunner());
        task.Files = [FileItem(source, "/opt/app.conf")];

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsTrue(File.Exists(Path.Combine(_root, "srv/data/app.conf")));
    }

    [TestMethod]
    [DataRow("", "DTV2006")]
    [DataRow("etc/app.conf", "DTV2007")]
    [DataRow("/etc/../../app.conf", "DTV2007")]
    public void A_file_with_a_bad_destination_is_refused(string destination, string code)
    {
        var source = _folder.Write("files/app.conf", "x=1\n");
        var runner = new FakeToolRunner();
        var (task, engine) = Create(runner);
        task.Files = [FileItem(source, destination)];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, code);
    }

    [TestMethod]
    public void A_file_whose_source_is_missing_is_refused()
    {
        var (task, engine) = Create(new FakeToolRunner());
        task.Files = [FileItem(_folder.Combine("files/none.conf"), "/etc/app.conf")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2005");
    }

    [TestMethod]
    public void A_file_with_a_bad_mode_is_refused()
    {
        var source = _folder.Write("files/app.conf", "x=1\n");
        var (task, engine) = Create(new FakeToolRunner());
        task.Files = [FileItem(source, "/etc/app.conf", "0999")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2009");
    }

    [TestMethod]
    public void The_service_blocker_and_resolver_file_are_removed_afterwards()
    {
        var (task, engine) = Create(new FakeToolRunner());
        task.Commands = [new TaskItem("true")];

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsFalse(File.Exists(Path.Combine(_root, "usr/sbin/policy-rc.d")));
        Assert.IsFalse(File.Exists(Path.Combine(_root, "etc/resolv.conf")));
    }

    [TestMethod]
    public void Services_are_blocked_while_commands_run()
    {
        string? policy = null;
        var runner = new FakeToolRunner(_ =>
        {
            policy = File.ReadAllText(Path.Combine(_root, "usr/sbin/policy-rc.d"));
            return new ToolResult(0, []);
        });
        var (task, engine) = Create(runner);
        task.Commands = [new TaskItem("true")];

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("#!/bin/sh\nexit 101\n", policy);
    }

    [TestMethod]
    public void An_existing_resolver_file_of_the_image_is_kept()
    {
        _folder.Write("rootfs/etc/resolv.conf", "nameserver 10.0.0.53\n");
        var (task, engine) = Create(new FakeToolRunner());
        task.Commands = [new TaskItem("true")];

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("nameserver 10.0.0.53\n",
            File.ReadAllText(Path.Combine(_root, "etc/resolv.conf")));
    }
}
