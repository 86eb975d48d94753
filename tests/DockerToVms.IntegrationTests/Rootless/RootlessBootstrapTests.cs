using System.Globalization;
using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.IntegrationTests.Rootless;

/// <summary>
/// An ordinary user, made for the test with ranges of subordinate ids, bootstraps the default
/// recipe the way a build without root does (mmdebstrap in root mode, in the user namespace
/// the build makes with unshare), run with runuser and without sudo, into a folder of mode
/// 0700 of its own. The root filesystem holds the packages debootstrap gives; seen from
/// inside the namespace every file has an owner and group below 65536, and seen from outside
/// each belongs to the user (the namespace's root) or to an id of its subordinate range. The
/// user namespace check is run against the machine's real files, before and after the user
/// gets its ranges. The user and its files are removed at the end.
/// </summary>
[TestClass]
public sealed class RootlessBootstrapTests
{
    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public async Task An_ordinary_user_with_subordinate_ids_can_bootstrap_without_root()
    {
        if (!HostTools.IsRoot || HostTools.Find("mmdebstrap") is null
            || HostTools.Find("newuidmap") is null || HostTools.Find("useradd") is null)
        {
            Assert.Inconclusive("Needs root, mmdebstrap, uidmap and useradd.");
        }

        var kernel = new UserNamespaceCheck().FindProblems(HostTools.Find)
            .Where(p => p.Fix.StartsWith("sysctl", StringComparison.Ordinal)).ToList();
        if (kernel.Count > 0)
        {
            Assert.Inconclusive("This kernel keeps ordinary users from user namespaces: "
                + string.Join("; ", kernel.Select(p => p.Problem)));
        }

        var shared = await SharedRootfs.GetAsync();
        var user = "dtvrl" + Guid.NewGuid().ToString("N")[..8];
        var parent = Directory.CreateTempSubdirectory("dtv-rootless-").FullName;
        await Tool.RunAsync("useradd", "--no-create-home", "--home-dir", "/nonexistent",
            "--shell", "/usr/sbin/nologin", user);
        try
        {
            var uid = long.Parse((await Tool.RunAsync("id", "-u", user)).Trim(),
                CultureInfo.InvariantCulture);
            await AssertTheCheckWantsRangesAsync(user, uid);
            var first = FirstRange("/etc/subuid", user);

            // The user's own folder, closed to others as a home folder is; the namespace's
            // root is the user, so it passes.
            await Tool.RunAsync("chown", user, parent);
            File.SetUnixFileMode(parent, (UnixFileMode)0b111_000_000);
            var target = Path.Combine(parent, "rootfs");
            var bootstrap = MmdebstrapCommand.Create(new DebootstrapOptions
            {
                Suite = SharedRootfs.Suite,
                Mirror = SharedRootfs.Mirror,
                TargetDirectory = target,
                Architecture = "amd64",
            });
            var command = UserNamespace.Wrap(bootstrap.Program, bootstrap.Arguments);

            var (exitCode, output) = await Tool.TryRunAsync("runuser",
                ["-u", user, "--", command.Program, .. command.Arguments]);

            Assert.AreEqual(0, exitCode, output);
            CollectionAssert.AreEqual(await PackagesAsync(shared), await PackagesAsync(target));
            var outside = await OwnersAsync(["find", target, "-printf", "%U %G\n"]);
            Assert.IsTrue(outside.All(o => o == uid
                    || (o >= first && o < first + UserNamespaceCheck.RequiredIds - 1)),
                $"every owner is the user or in the subordinate range from {first}: "
                + string.Join(' ', outside));
            var find = UserNamespace.Wrap("find", [target, "-printf", "%U %G\n"]);
            var inside = await OwnersAsync(
                ["runuser", "-u", user, "--", find.Program, .. find.Arguments]);
            Assert.IsTrue(inside.All(o => o < UserNamespaceCheck.RequiredIds),
                "inside, every owner is an id of the image: " + string.Join(' ', inside));
            CollectionAssert.Contains(inside, 0L, "system files belong to root inside");
        }
        finally
        {
            // userdel also removes the user's lines from /etc/subuid and /etc/subgid.
            Directory.Delete(parent, recursive: true);
            await Tool.TryRunAsync("userdel", user);
        }

        StringAssert.DoesNotMatch(await File.ReadAllTextAsync("/etc/subuid"),
            new System.Text.RegularExpressions.Regex("^" + user + ":",
                System.Text.RegularExpressions.RegexOptions.Multiline));
    }

    // useradd gives a new user ranges when login.defs says so; without them the check names
    // both files, and with them it finds nothing missing on this machine.
    private static async Task AssertTheCheckWantsRangesAsync(string user, long uid)
    {
        var check = new UserNamespaceCheck { UserName = user, UserId = uid };
        await Tool.RunAsync("usermod", "--del-subuids", "1-4294967294", "--del-subgids",
            "1-4294967294", user);

        var missing = check.FindProblems(HostTools.Find).Select(p => p.Fix).ToList();
        Assert.HasCount(2, missing, string.Join('\n', missing));
        Assert.IsTrue(missing.All(f => f.StartsWith("usermod --add-sub", StringComparison
            .Ordinal)), string.Join('\n', missing));

        var range = FreeRange();
        await Tool.RunAsync("usermod", "--add-subuids", range, "--add-subgids", range, user);
        Assert.HasCount(0, check.FindProblems(HostTools.Find));
    }

    // A range above every range the machine has given out, in both files.
    private static string FreeRange()
    {
        var end = new[] { "/etc/subuid", "/etc/subgid" }
            .SelectMany(f => File.Exists(f) ? File.ReadLines(f) : [])
            .Select(l => l.Split(':'))
            .Where(f => f.Length == 3)
            .Select(f => long.Parse(f[1], CultureInfo.InvariantCulture)
                + long.Parse(f[2], CultureInfo.InvariantCulture))
            .DefaultIfEmpty(100_000).Max();
        var start = Math.Max(end, 100_000);
        return $"{start}-{start + UserNamespaceCheck.RequiredIds - 1}";
    }

    private static async Task<List<long>> OwnersAsync(string[] command) =>
        [.. (await Tool.RunAsync(command[0], command[1..]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(l => l.Split(' ')).Select(long.Parse).Distinct()];

    private static long FirstRange(string file, string user) =>
        File.ReadLines(file).Select(l => l.Split(':'))
            .Where(f => f.Length == 3 && f[0] == user)
            .Select(f => long.Parse(f[1], CultureInfo.InvariantCulture))
            .First();

    private static async Task<List<string>> PackagesAsync(string root) =>
        [.. (await Tool.RunAsync("dpkg-query", "--admindir=" + Path.Combine(root, "var/lib/dpkg"),
            "-W", "-f=${Package} ${Version} ${Architecture}\n"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
}
