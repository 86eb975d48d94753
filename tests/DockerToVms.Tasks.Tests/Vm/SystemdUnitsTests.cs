using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>
/// With VmInit=systemd the app runs as a service that carries the image's command,
/// environment, working directory and user, reports its exit code on the console and powers
/// the machine off when it ends.
/// </summary>
[TestClass]
public sealed class SystemdUnitsTests
{
    private static readonly AppLaunch s_launch = new(["/app/Hello", "--name", "a b"],
        ["PATH=/usr/bin:/bin", "GREETING=hi there", "HOME=/home/app"], "/app", 1654, 1654,
        ["/usr/lib/modules/6.12/kernel/drivers/net/virtio_net.ko.xz"]);

    private static List<string> Lines(string unit) => [.. unit.Split('\n')];

    [TestMethod]
    public void The_service_runs_the_image_s_command_as_its_user_in_its_working_directory()
    {
        var lines = Lines(SystemdUnits.AppService(s_launch, "Hello"));

        CollectionAssert.Contains(lines, "ExecStart=\"/app/Hello\" \"--name\" \"a b\"");
        CollectionAssert.Contains(lines, "WorkingDirectory=/app");
        CollectionAssert.Contains(lines, "User=1654");
        CollectionAssert.Contains(lines, "Group=1654");
        CollectionAssert.Contains(lines, "WantedBy=multi-user.target");
    }

    [TestMethod]
    public void The_service_carries_the_image_s_environment_in_order()
    {
        var environment = Lines(SystemdUnits.AppService(s_launch, "Hello"))
            .Where(l => l.StartsWith("Environment=", StringComparison.Ordinal)).ToList();

        Expect.Sequence(environment, "Environment=\"PATH=/usr/bin:/bin\"",
            "Environment=\"GREETING=hi there\"", "Environment=\"HOME=/home/app\"");
    }

    [TestMethod]
    public void The_machine_powers_off_and_prints_the_exit_code_when_the_app_ends()
    {
        var lines = Lines(SystemdUnits.AppService(s_launch, "Hello"));

        CollectionAssert.Contains(lines, "SuccessAction=poweroff");
        CollectionAssert.Contains(lines, "FailureAction=poweroff");
        var stopPost = lines.Single(l => l.StartsWith("ExecStopPost=", StringComparison.Ordinal));
        Assert.AreEqual("ExecStopPost=+/bin/sh -c \"echo \\\"dockertovms: app exited with code "
            + "$$EXIT_STATUS\\\" >/dev/console\"", stopPost);
    }

    [TestMethod]
    public void Percent_dollar_quote_and_backslash_reach_the_app_as_written()
    {
        var launch = s_launch with
        {
            Command = ["/app/Hello", "50%", "$HOME", "say \"hi\"", "a\\b"],
            Environment = ["PRICE=5$ or 10%"],
        };

        var lines = Lines(SystemdUnits.AppService(launch, "Hello"));

        CollectionAssert.Contains(lines,
            "ExecStart=\"/app/Hello\" \"50%%\" \"$$HOME\" \"say \\\"hi\\\"\" \"a\\\\b\"");
        CollectionAssert.Contains(lines, "Environment=\"PRICE=5$ or 10%%\"");
    }

    [TestMethod]
    public void The_unit_is_named_after_the_app()
    {
        Assert.AreEqual("hello.web.service", SystemdUnits.ServiceName("Hello.Web"));
        Assert.AreEqual("myapp.service", SystemdUnits.ServiceName("My App!"));
        Assert.AreEqual("app.service", SystemdUnits.ServiceName("ÄÖ"));
    }

    [TestMethod]
    public void The_network_modules_load_by_name()
    {
        Assert.AreEqual("failover\nvirtio_net\n", SystemdUnits.ModulesLoadList(
        [
            "/usr/lib/modules/6.12/kernel/net/core/failover.ko.xz",
            "/usr/lib/modules/6.12/kernel/drivers/net/virtio_net.ko",
        ]));
    }

    [TestMethod]
    public async Task The_VM_root_boots_systemd_and_enables_the_app_s_service()
    {
        using var folder = new TemporaryDirectory("dtv-systemd-");
        folder.Write("publish/Hello", "binary");
        var output = folder.Combine("vm-root");
        var content = new VmRoot.Content(folder.Combine("publish"), "/app", [], string.Empty,
            string.Empty, s_launch, "hello.service", s_launch.Modules);

        await new VmRoot(new FakeToolRunner()).BuildAsync(folder.Combine("base"), output,
            content, CancellationToken.None);

        Assert.AreEqual("/usr/lib/systemd/systemd",
            new FileInfo(Path.Combine(output, "init")).LinkTarget);
        Assert.AreEqual("/etc/systemd/system/hello.service", new FileInfo(Path.Combine(output,
            "etc/systemd/system/multi-user.target.wants/hello.service")).LinkTarget);
        StringAssert.Contains(File.ReadAllText(Path.Combine(output,
            "etc/systemd/system/hello.service")), "ExecStart=\"/app/Hello\"");
        Assert.AreEqual("virtio_net\n", File.ReadAllText(Path.Combine(output,
            SystemdUnits.ModulesLoadFile)));
        StringAssert.Contains(File.ReadAllText(Path.Combine(output, SystemdUnits.NetworkFile)),
            "DHCP=yes");
    }
}
