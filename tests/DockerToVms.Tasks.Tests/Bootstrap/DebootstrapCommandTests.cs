using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Bootstrap;

/// <summary>The debootstrap command line, and what of the build's environment reaches it.</summary>
[TestClass]
[DoNotParallelize]
public sealed class DebootstrapCommandTests
{
    private static readonly string[] s_passedThrough =
    [
        "PATH", "LC_ALL", "http_proxy", "https_proxy", "no_proxy",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    ];

    private static DebootstrapOptions Options() => new()
    {
        Suite = "trixie",
        Mirror = "http://deb.debian.org/debian",
        TargetDirectory = "/var/tmp/rootfs",
        Architecture = "arm64",
    };

    [TestMethod]
    public void The_defaults_give_a_minbase_bootstrap_of_main()
    {
        Expect.Sequence(DebootstrapCommand.CreateArguments(Options()),
            "--variant=minbase", "--arch=arm64", "--components=main", "--force-check-gpg",
            "trixie", "/var/tmp/rootfs", "http://deb.debian.org/debian");
    }

    [TestMethod]
    public void Every_option_is_passed_before_suite_target_and_mirror()
    {
        var options = Options() with
        {
            Variant = "buildd",
            Components = ["main", "contrib", "non-free"],
            Include = ["ca-certificates", "curl"],
            Exclude = ["e2fsprogs"],
            Keyring = "/usr/share/keyrings/debian-archive-keyring.gpg",
            Foreign = true,
        };

        Expect.Sequence(DebootstrapCommand.CreateArguments(options),
            "--variant=buildd", "--arch=arm64", "--components=main,contrib,non-free",
            "--include=ca-certificates,curl", "--exclude=e2fsprogs", "--force-check-gpg",
            "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg", "--foreign", "trixie",
            "/var/tmp/rootfs", "http://deb.debian.org/debian");
    }

    [TestMethod]
    public void No_components_leave_the_choice_to_debootstrap()
    {
        var arguments = DebootstrapCommand.CreateArguments(Options() with { Components = [] });

        Assert.IsFalse(arguments.Any(a => a.StartsWith("--components", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void Debootstrap_runs_in_a_private_mount_namespace_with_a_clean_environment()
    {
        var command = DebootstrapCommand.Create(Options());
        var arguments = command.Arguments.ToList();

        Assert.AreEqual("unshare", command.Program);
        var end = arguments.IndexOf("--");
        var unshare = arguments.Take(end).ToList();
        CollectionAssert.Contains(unshare, "--mount");
        CollectionAssert.Contains(unshare, "--fork");
        Assert.AreEqual("private", unshare[unshare.IndexOf("--propagation") + 1]);
        Expect.Sequence(arguments.Skip(end + 1).Take(4),
            "env", "-i", "PATH=" + DebootstrapCommand.CleanPath, "LC_ALL=C.UTF-8");
        var debootstrap = arguments.IndexOf("debootstrap");
        Expect.Sequence(arguments.Skip(debootstrap + 1),
            [.. DebootstrapCommand.CreateArguments(Options())]);
        Assert.AreEqual(0, command.Environment.Count);
    }

    [TestMethod]
    public void Only_proxy_variables_of_the_build_reach_debootstrap()
    {
        const string Canary = "DTV_TEST_CANARY";
        const string CanaryValue = "canary-7f3e91";
        var saved = Environment.GetEnvironmentVariable("https_proxy");
        Environment.SetEnvironmentVariable(Canary, CanaryValue);
        Environment.SetEnvironmentVariable("https_proxy", "http://127.0.0.1:3128");
        try
        {
            var command = DebootstrapCommand.Create(Options());
            var arguments = command.Arguments.ToList();

            Assert.IsFalse(arguments.Any(a => a.Contains(CanaryValue, StringComparison.Ordinal)
                || a.Contains(Canary, StringComparison.Ordinal)), command.ToString());
            CollectionAssert.Contains(arguments, "https_proxy=http://127.0.0.1:3128");
            var environment = arguments.Skip(arguments.IndexOf("-i") + 1)
                .TakeWhile(a => a != "debootstrap")
                .Select(a => a.Split('=')[0])
                .ToList();
            Assert.IsTrue(environment.All(s_passedThrough.Contains), string.Join(' ', environment));
        }
        finally
        {
            Environment.SetEnvironmentVariable(Canary, null);
            Environment.SetEnvironmentVariable("https_proxy", saved);
        }
    }
}
