using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Tests.Infrastructure;
using TaskItem = Microsoft.Build.Utilities.TaskItem;

namespace DockerToVms.IntegrationTests.Chroot;

[TestClass]
public sealed class ChrootExecTaskTests
{
    private const string Canary = "DOCKERTOVMS_TEST_CANARY";

    [TestMethod]
    public async Task I_can_run_commands_in_order_with_the_kernel_filesystems_mounted()
    {
        using var rootfs = await SharedRootfs.CopyAsync();
        var engine = new RecordingBuildEngine();

        var succeeded = new ChrootExecTask
        {
            BuildEngine = engine,
            RootDirectory = rootfs.Directory,
            Commands =
            [
                Command("echo first > /order.txt"),
                Command("echo second >> /order.txt; test -e /proc/self/status && test -c /dev/null"
                    + " && test -d /sys/kernel && echo mounted > /mounts.txt"),
            ],
        }.Execute();

        Assert.IsTrue(succeeded, engine.Log);
        Assert.AreEqual("first\nsecond\n", await Read(rootfs, "order.txt"));
        Assert.AreEqual("mounted\n", await Read(rootfs, "mounts.txt"));
        Assert.IsEmpty(rootfs.Mounts);
        Assert.IsEmpty(Directory.EnumerateFileSystemEntries(Path.Combine(rootfs.Directory, "proc")),
            "proc is mounted only while a command runs");
    }

    [TestMethod]
    public async Task Commands_see_only_the_environment_the_recipe_gives()
    {
        using var rootfs = await SharedRootfs.CopyAsync();
        var engine = new RecordingBuildEngine();
        Environment.SetEnvironmentVariable(Canary, "leaked-secret");
        try
        {
            var succeeded = new ChrootExecTask
            {
                BuildEngine = engine,
                RootDirectory = rootfs.Directory,
                EnvironmentVariables = [new TaskItem("GREETING",
                    new Dictionary<string, string> { ["Value"] = "hello" })],
                Commands = [Command("env > /env.txt")],
            }.Execute();

            Assert.IsTrue(succeeded, engine.Log);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Canary, null);
        }

        var environment = await Read(rootfs, "env.txt");
        StringAssert.Contains(environment, "GREETING=hello");
        StringAssert.Contains(environment, "DEBIAN_FRONTEND=noninteractive");
        Assert.IsFalse(environment.Contains(Canary, StringComparison.Ordinal), environment);
    }

    [TestMethod]
    public async Task A_failing_command_fails_the_build_with_its_exit_code_and_output()
    {
        using var rootfs = await SharedRootfs.CopyAsync();
        var engine = new RecordingBuildEngine();

        var succeeded = new ChrootExecTask
        {
            BuildEngine = engine,
            RootDirectory = rootfs.Directory,
            Commands = [Command("echo about to fail; exit 7"), Command("touch /never.txt")],
        }.Execute();

        Assert.IsFalse(succeeded);
        CollectionAssert.AreEqual(new[] { "DTV2002" }, engine.ErrorCodes.ToArray(), engine.Log);
        var error = engine.Errors[0].Message!;
        StringAssert.Contains(error, "exit 7");
        StringAssert.Contains(error, " 7.");
        StringAssert.Contains(error, "about to fail");
        Assert.IsFalse(File.Exists(Path.Combine(rootfs.Directory, "never.txt")));
        Assert.IsEmpty(rootfs.Mounts);
        Assert.IsFalse(File.Exists(Path.Combine(rootfs.Directory, "usr/sbin/policy-rc.d")),
            "the service guard is removed after the steps");
    }

    [TestMethod]
    public async Task A_package_that_does_not_exist_is_named_in_the_error()
    {
        using var rootfs = await SharedRootfs.CopyAsync();
        var engine = new RecordingBuildEngine();

        var succeeded = new ChrootExecTask
        {
            BuildEngine = engine,
            RootDirectory = rootfs.Directory,
            Packages = ["ca-certificates", "no-such-package-dtv"],
        }.Execute();

        Assert.IsFalse(succeeded);
        CollectionAssert.AreEqual(new[] { "DTV2003" }, engine.ErrorCodes.ToArray(), engine.Log);
        StringAssert.Contains(engine.Errors[0].Message, "no-such-package-dtv");
        Assert.IsFalse(engine.Errors[0].Message!.Contains("ca-certificates",
            StringComparison.Ordinal), "only the missing package is named");
        Assert.IsEmpty(rootfs.Mounts);
    }

    [TestMethod]
    public async Task I_can_install_packages_and_copy_files_in()
    {
        using var rootfs = await SharedRootfs.CopyAsync();
        var engine = new RecordingBuildEngine();
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "#!/bin/sh\necho copied\n");
        try
        {
            var succeeded = new ChrootExecTask
            {
                BuildEngine = engine,
                RootDirectory = rootfs.Directory,
                Packages = ["@libssl", "ca-certificates"],
                Files =
                [
                    new TaskItem(file, new Dictionary<string, string>
                    {
                        ["Destination"] = "/usr/local/bin/copied",
                        ["Mode"] = "0755",
                    }),
                    new TaskItem(file, new Dictionary<string, string> { ["Destination"] = "/opt/" }),
                    new TaskItem(file, new Dictionary<string, string> { ["Destination"] = "/etc" }),
                ],
                Commands = [Command("copied > /copied.txt")],
            }.Execute();

            Assert.IsTrue(succeeded, engine.Log);
        }
        finally
        {
            File.Delete(file);
        }

        Assert.AreEqual("copied\n", await Read(rootfs, "copied.txt"));
        var name = Path.GetFileName(file);
        Assert.IsTrue(File.Exists(Path.Combine(rootfs.Directory, "opt", name)),
            "a destination ending in / receives the file under its own name");
        Assert.IsTrue(File.Exists(Path.Combine(rootfs.Directory, "etc", name)),
            "so does a destination that is a directory");
        Assert.IsTrue(File.Exists(Path.Combine(rootfs.Directory,
            "etc/ssl/certs/ca-certificates.crt")), "ca-certificates was installed");
        var status = await Read(rootfs, "var/lib/dpkg/status");
        StringAssert.Contains(status, "Package: ca-certificates");
        Assert.IsEmpty(rootfs.Mounts);
    }

    [TestMethod]
    public async Task Cancelling_stops_the_command_and_leaves_nothing_mounted()
    {
        using var rootfs = await SharedRootfs.CopyAsync();
        var engine = new RecordingBuildEngine();
        var task = new ChrootExecTask
        {
            BuildEngine = engine,
            RootDirectory = rootfs.Directory,
            Commands = [Command("touch /started; sleep 600")],
        };

        var running = Task.Run(task.Execute);
        var started = Path.Combine(rootfs.Directory, "started");
        for (var i = 0; i < 100 && !File.Exists(started); i++)
        {
            await Task.Delay(100);
        }

        Assert.IsTrue(File.Exists(started), engine.Log);
        task.Cancel();
        var finished = await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(30)));

        Assert.AreSame(running, finished, "the task ended within the grace period");
        Assert.IsFalse(await running);
        CollectionAssert.Contains(engine.ErrorCodes.ToArray(), "DTV9004", engine.Log);
        Assert.IsEmpty(rootfs.Mounts);
        var (_, sleeping) = await Tool.TryRunAsync("pgrep", "-f", "sleep 600");
        Assert.AreEqual(string.Empty, sleeping.Trim(), "the command's processes are gone");
    }

    private static TaskItem Command(string command) => new TaskItem("step",
        new Dictionary<string, string> { [ChrootExecTask.CommandMetadata] = command });

    private static Task<string> Read(TemporaryRootfs rootfs, string path) =>
        File.ReadAllTextAsync(Path.Combine(rootfs.Directory, path));
}
