using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Rootless;

/// <summary>
/// The check that an ordinary user can build in a user namespace, on machines described by
/// the files they would have, and what the build host check makes of a build without root.
/// </summary>
[TestClass]
public sealed class UserNamespaceCheckTests
{
    private const string Ranges = "builder:100000:65536\n";

    private static UserNamespaceCheck Machine(Dictionary<string, string> files,
        bool setuid = true, Func<string, bool>? unshareMapsIds = null) => new()
        {
            UserName = "builder",
            UserId = 1000,
            ReadText = path => files.TryGetValue(path, out var text) ? text : null,
            CanSetIds = _ => setuid,
            UnshareMapsIds = unshareMapsIds ?? (_ => true),
        };

    private static Dictionary<string, string> Usable() => new()
    {
        ["/etc/subuid"] = Ranges,
        ["/etc/subgid"] = Ranges,
        ["/proc/sys/user/max_user_namespaces"] = "63413\n",
        ["/proc/sys/kernel/unprivileged_userns_clone"] = "1\n",
    };

    private static string? Everything(string program) => "/usr/bin/" + program;

    [TestMethod]
    public void A_user_with_ranges_and_the_map_helpers_can_build()
    {
        Assert.HasCount(0, Machine(Usable()).FindProblems(Everything));
    }

    [TestMethod]
    public void A_range_may_name_the_user_by_number()
    {
        var files = Usable();
        files["/etc/subuid"] = "other:200000:65536\n1000:100000:65536\n";

        Assert.HasCount(0, Machine(files).FindProblems(Everything));
    }

    [TestMethod]
    public void A_user_without_a_subuid_range_is_told_to_add_a_range_no_one_has()
    {
        var files = Usable();
        files["/etc/subuid"] = "other:100000:65536\nthird:300000:65536\n";

        var problem = Machine(files).FindProblems(Everything).Single();

        StringAssert.Contains(problem.Problem, "/etc/subuid");
        StringAssert.StartsWith(problem.Fix, "usermod --add-subuids 365536-431071 builder");
    }

    [TestMethod]
    public void A_range_shorter_than_65536_ids_does_not_count()
    {
        var files = Usable();
        files["/etc/subgid"] = "builder:100000:1000\n";

        var problem = Machine(files).FindProblems(Everything).Single();

        Assert.AreEqual("usermod --del-subgids 100000-100999 builder; "
            + "usermod --add-subgids 165536-231071 builder (a range no other user has)",
            problem.Fix);
    }

    [TestMethod]
    public void Only_the_first_range_of_the_user_counts()
    {
        var files = Usable();
        files["/etc/subuid"] = "builder:100000:1000\nbuilder:200000:65536\n";

        var problem = Machine(files).FindProblems(Everything).Single();

        StringAssert.Contains(problem.Problem, "first range");
        Assert.AreEqual("usermod --del-subuids 100000-100999 builder", problem.Fix,
            "the long range is already there; the short one is in its way");
    }

    [TestMethod]
    public void Switched_off_user_namespaces_are_told_the_sysctl_command()
    {
        var files = Usable();
        files["/proc/sys/kernel/unprivileged_userns_clone"] = "0\n";
        files["/proc/sys/user/max_user_namespaces"] = "0\n";
        files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n";

        var fixes = Machine(files).FindProblems(Everything).Select(p => p.Fix).ToList();

        CollectionAssert.AreEquivalent(new[]
        {
            "sysctl -w kernel.unprivileged_userns_clone=1",
            "sysctl -w user.max_user_namespaces=15000",
            "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
        }, fixes);
    }

    [TestMethod]
    public void A_kernel_without_the_debian_switch_is_fine()
    {
        var files = Usable();
        files.Remove("/proc/sys/kernel/unprivileged_userns_clone");

        Assert.HasCount(0, Machine(files).FindProblems(Everything));
    }

    [TestMethod]
    public void Missing_map_helpers_are_told_to_install_uidmap()
    {
        var problems = Machine(Usable()).FindProblems(p => p == "newgidmap" ? null : "/x/" + p);

        Assert.AreEqual("apt-get install uidmap", problems.Single().Fix);
    }

    [TestMethod]
    public void An_unshare_without_map_auto_is_told_to_install_a_newer_util_linux()
    {
        var asked = new List<string>();
        var check = Machine(Usable(), unshareMapsIds: unshare =>
        {
            asked.Add(unshare);
            return false;
        });

        var problem = check.FindProblems(Everything).Single();

        Expect.Sequence(asked, "/usr/bin/unshare");
        Assert.AreEqual("apt-get install util-linux (2.38 or later)", problem.Fix);
        StringAssert.Contains(problem.Problem, "/usr/bin/unshare");
    }

    [TestMethod]
    public void Map_helpers_that_are_not_setuid_are_told_chmod()
    {
        var problems = Machine(Usable(), setuid: false).FindProblems(Everything);

        CollectionAssert.AreEquivalent(
            new[] { "chmod u+s /usr/bin/newuidmap", "chmod u+s /usr/bin/newgidmap" },
            problems.Select(p => p.Fix).ToList());
    }

    [TestMethod]
    public void Everything_missing_is_one_DTV9071_that_names_every_fix()
    {
        var e = Assert.ThrowsExactly<DtvException>(
            () => Machine([], setuid: false).Require(_ => null));

        Assert.AreEqual("DTV9071", e.Code);
        var fixes = (string)e.Arguments[3]!;
        StringAssert.Contains(fixes, "--add-subuids");
        StringAssert.Contains(fixes, "--add-subgids");
        StringAssert.Contains(fixes, "apt-get install uidmap");
    }

    private static (CheckBuildHostTask Task, RecordingBuildEngine Engine) HostCheck(
        Dictionary<string, string> files)
    {
        var engine = new RecordingBuildEngine();
        var task = new CheckBuildHostTask
        {
            BuildEngine = engine,
            NeedsBootstrap = true,
            RunsAsRoot = false,
            Namespaces = Machine(files),
            Runner = new FakeToolRunner(),
            DockerHost = "unix:///nonexistent/docker.sock",
        };
        return (task, engine);
    }

    [TestMethod]
    public void A_build_without_root_or_a_user_namespace_fails_before_any_download()
    {
        var (task, engine) = HostCheck([]);

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV9071");
    }

    // The fake runner finds every tool, so the daemon, which the test's address does not
    // reach, is the only thing left to fail.
    [TestMethod]
    public void A_build_without_root_but_with_a_user_namespace_goes_on_to_the_daemon_check()
    {
        var (task, engine) = HostCheck(Usable());

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV3001");
        Assert.AreEqual("unix:///nonexistent/docker.sock", task.ResolvedDockerHost);
    }

    [TestMethod]
    public void A_build_without_root_that_pins_debootstrap_is_DTV1104()
    {
        var (task, engine) = HostCheck(Usable());
        task.Bootstrapper = "debootstrap";

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV1104");
    }
}
