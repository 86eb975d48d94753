using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>
/// The VM starts the app as the container image does: the same command, environment,
/// working directory and user, the user resolved against the image's own accounts.
/// </summary>
[TestClass]
public sealed class AppLaunchTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-launch-");

    public AppLaunchTests()
    {
        _folder.Write("root/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\napp:x:1654:1654::/home/app:/usr/sbin/nologin\n");
        _folder.Write("root/etc/group", "root:x:0:\napp:x:1654:\nstaff:x:50:\n");
    }

    public void Dispose() => _folder.Dispose();

    private string Root => _folder.Combine("root");

    [TestMethod]
    public void The_launch_carries_the_image_s_command_environment_and_user()
    {
        var launch = AppLaunch.For(Root, ["/app/Hello", "--flag"],
            ["PATH=/usr/bin:/bin", "GREETING=hi there"], "/app", "app",
            ["/usr/lib/modules/6.12/kernel/failover.ko.xz"]);

        var read = AppLaunch.Parse(launch.ToBytes());

        Expect.Sequence(read.Command, "/app/Hello", "--flag");
        Expect.Sequence(read.Environment, "PATH=/usr/bin:/bin", "GREETING=hi there",
            "HOME=/home/app");
        Assert.AreEqual("/app", read.WorkingDirectory);
        Assert.AreEqual((1654u, 1654u), (read.UserId, read.GroupId));
        Expect.Sequence(read.Modules, "/usr/lib/modules/6.12/kernel/failover.ko.xz");
    }

    [TestMethod]
    public void A_home_the_image_sets_is_kept()
    {
        var launch = AppLaunch.For(Root, ["x"], ["HOME=/data"], "/", "app", []);

        Expect.Sequence(launch.Environment, "HOME=/data");
    }

    [TestMethod]
    public void Users_and_groups_resolve_by_name_or_number()
    {
        Assert.AreEqual((0u, 0u, "/root"), AppLaunch.ResolveUser(Root, "root"));
        Assert.AreEqual((1654u, 50u, "/home/app"), AppLaunch.ResolveUser(Root, "app:staff"));
        Assert.AreEqual((4242u, 0u, "/"), AppLaunch.ResolveUser(Root, "4242"));
        Assert.AreEqual((4242u, 7u, "/"), AppLaunch.ResolveUser(Root, "4242:7"));
        Assert.AreEqual((0u, 0u, "/"), AppLaunch.ResolveUser(Root, string.Empty));
    }

    [TestMethod]
    public void A_user_the_image_does_not_have_is_refused()
    {
        var error = Assert.ThrowsExactly<DtvException>(() => AppLaunch.ResolveUser(Root, "nobody"));
        Assert.AreEqual("DTV6020", error.Code);

        var group = Assert.ThrowsExactly<DtvException>(() => AppLaunch.ResolveUser(Root, "app:wheel"));
        Assert.AreEqual("DTV6021", group.Code);
    }

    [TestMethod]
    public void A_later_variable_replaces_an_earlier_one_in_its_place()
    {
        static TaskItem Variable(string name, string value)
        {
            var item = new TaskItem(name);
            item.SetMetadata("Value", value);
            return item;
        }

        var environment = WriteVmRootTask.Environment(
            [Variable("PATH", "/bin"), Variable("A", "1"), Variable("PATH", "/opt/bin:/bin")]);

        Expect.Sequence(environment, "PATH=/opt/bin:/bin", "A=1");
    }
}
