using System.Globalization;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Rootless;

/// <summary>
/// An ordinary user, made for the test with a home, a NuGet folder and a copy of the package
/// feed of its own, publishes a console app with BuildBaseImage=true through runuser, without
/// sudo: from an empty cache of its own, so the bootstrap, the chroot step, the trim, the
/// app-level base and the import all run in its user namespace. The image runs, and every
/// file in it has the owner the same project's image built by root has, none the user's uid or
/// one of its subordinate ids. Nothing may be left outside the user's home that belongs to the
/// user or its ids, and nothing in its home may belong to root. Without subordinate ids the
/// build stops before any download with the error that names them and the usermod commands.
/// The user, its files and the images are removed at the end.
/// </summary>
[TestClass]
public sealed class RootlessPublishTests
{
    private const string Program = """Console.WriteLine("Hello without root");""";

    // Folders any build may write temporary files to; the user's home lies in one of them and
    // is left out of the search.
    private static readonly string[] s_shared = ["/tmp", "/var/tmp", "/var/cache"];

    // Kernel settings that switch user namespaces off for ordinary users, and the value that
    // does; a machine like that cannot build without root.
    private static readonly (string Setting, string Blocking)[] s_kernelSwitches =
    [
        ("/proc/sys/kernel/unprivileged_userns_clone", "0"),
        ("/proc/sys/user/max_user_namespaces", "0"),
        ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"),
    ];

    [TestMethod]
    [Timeout(1_500_000, CooperativeCancellation = true)]
    public async Task An_ordinary_user_publishes_an_image_owned_as_a_root_build_owns_it()
    {
        RequireMachine();
        var socketGroup = await DockerSocketGroupAsync();
        await using var user = await TestUser.CreateAsync("dtvrp");
        var project = await WriteProjectAsync(user.Home, await LocalFeed.GetAsync());
        var repository = Path.GetFileName(project).ToLowerInvariant();
        await Shell.CheckAsync("/", "chown", "-R", $"{user.Name}:{user.Name}", user.Home);
        await Shell.CheckAsync("/", "usermod", "--append", "--groups", socketGroup, user.Name);
        var first = await GiveRangesAsync(user.Name);
        var before = await FilesOutsideHomeAsync(user, first);
        var rootCopy = Directory.CreateTempSubdirectory("dtv-e2e-rootcopy-").FullName;
        try
        {
            var published = await BuildAsUserAsync(user, project, "publish");

            Assert.AreEqual(0, published.ExitCode, published.Tail);
            StringAssert.Contains(published.Output, "mmdebstrap --mode=root", published.Tail);
            StringAssert.Contains(await Shell.CheckAsync("/", "docker", "run", "--rm", "--pull",
                "never", "--network", "none", repository), "Hello without root");

            // The same project built by root, from the test run's shared cache.
            await Shell.CheckAsync("/", "cp", "-r", Path.GetDirectoryName(project)!, rootCopy);
            var copy = Path.Combine(rootCopy, "src", Path.GetFileName(project));
            await Shell.CheckAsync("/", "rm", "-rf", Path.Combine(copy, "bin"),
                Path.Combine(copy, "obj"));
            var byRoot = await Shell.RunAsync(copy, "dotnet", "publish", "-r", "linux-x64",
                "-p:BuildBaseImage=true", $"-p:ContainerRepository={repository}-root",
                $"-p:BaseImageCacheDirectory={LocalFeed.CacheDirectory}");
            Assert.AreEqual(0, byRoot.ExitCode, byRoot.Tail);

            var rootless = await OwnersAsync(repository);
            var rooted = await OwnersAsync(repository + "-root");
            CollectionAssert.AreEquivalent(rooted.Keys.ToList(), rootless.Keys.ToList(),
                "the same files as root's image");
            var differing = rooted.Where(p => rootless[p.Key] != p.Value)
                .Select(p => $"{p.Key}: {rootless[p.Key]}, root's {p.Value}").ToList();
            Assert.IsEmpty(differing, string.Join('\n', differing));
            var ids = rootless.Values.SelectMany(o => o.Split(':')).Select(long.Parse)
                .Distinct().ToList();
            CollectionAssert.DoesNotContain(ids, user.Uid, "no file belongs to the user");
            Assert.IsFalse(ids.Any(i => i >= first && i < first + 65536),
                "no file belongs to a subordinate id: " + string.Join(' ', ids));

            await AssertNothingLeftBehindAsync(user, first, before);
        }
        finally
        {
            await UserProject.RemoveImagesAsync(repository);
            Directory.Delete(rootCopy, recursive: true);
        }
    }

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public async Task An_ordinary_user_without_subordinate_ids_is_told_how_to_get_them()
    {
        RequireMachine();
        await using var user = await TestUser.CreateAsync("dtvrn");
        var project = await WriteProjectAsync(user.Home, await LocalFeed.GetAsync());
        await Shell.CheckAsync("/", "chown", "-R", $"{user.Name}:{user.Name}", user.Home);
        await Shell.CheckAsync("/", "usermod", "--del-subuids", "1-4294967294",
            "--del-subgids", "1-4294967294", user.Name);
        var before = await FilesOutsideHomeAsync(user, first: -1);

        var result = await BuildAsUserAsync(user, project, "build");

        CollectionAssert.AreEqual(new[] { "DTV9071" }, result.ErrorCodes.ToArray(),
            result.Tail);
        StringAssert.Matches(result.Output, new System.Text.RegularExpressions.Regex(
            $@"usermod --add-subuids \d+-\d+ {user.Name} \(a range no other user has\)"),
            result.Tail);
        StringAssert.Contains(result.Output, "usermod --add-subgids", result.Tail);
        Assert.IsFalse(result.Output.Contains("mmdebstrap --mode", StringComparison.Ordinal),
            "nothing is bootstrapped\n" + result.Tail);
        await AssertNothingLeftBehindAsync(user, first: -1, before);
    }

    private static void RequireMachine()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/sbin/useradd")
            || !File.Exists("/usr/sbin/runuser") || !File.Exists("/usr/bin/newuidmap")
            || !File.Exists("/usr/bin/mmdebstrap"))
        {
            Assert.Inconclusive("Needs root, useradd, runuser, uidmap and mmdebstrap.");
        }

        foreach (var (setting, blocking) in s_kernelSwitches)
        {
            if (File.Exists(setting) && File.ReadAllText(setting).Trim() == blocking)
            {
                Assert.Inconclusive($"This kernel keeps ordinary users from user namespaces "
                    + $"({setting} is {blocking}).");
            }
        }
    }

    // The user reaches the daemon as users do without root: through the socket's group.
    private static async Task<string> DockerSocketGroupAsync()
    {
        const string socket = "/var/run/docker.sock";
        var group = File.Exists(socket)
            ? (await Shell.CheckAsync("/", "stat", "-c", "%G %a", socket)).Trim().Split(' ')
            : [];
        if (group is not [var name, var mode] || name == "root" || mode[1] < '6')
        {
            Assert.Inconclusive($"{socket} is not open to a group an ordinary user can join.");
        }

        return group[0];
    }

    // Every path in the image with its numeric owner and group.
    private static async Task<Dictionary<string, string>> OwnersAsync(string image)
    {
        var container = (await Shell.CheckAsync("/", "docker", "create", "--pull", "never",
            image)).Trim();
        try
        {
            var listing = await Shell.CheckAsync("/", "sh", "-c",
                $"docker export {container} | tar -tv --numeric-owner");
            return listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length == 6)
                .ToDictionary(f => f[5].Split(" -> ")[0].Split(" link to ")[0],
                    f => f[1].Replace('/', ':'), StringComparer.Ordinal);
        }
        finally
        {
            await Shell.RunAsync("/", "docker", "rm", "-f", container);
        }
    }

    // The project, its NuGet.config and a copy of the feed in the user's home, which the
    // user can read; the feed the run packed lies in root's own temporary folder.
    private static async Task<string> WriteProjectAsync(string home, string feed)
    {
        Directory.CreateDirectory(Path.Combine(home, "tmp"));
        var ownFeed = Path.Combine(home, "feed");
        Directory.CreateDirectory(ownFeed);
        foreach (var package in Directory.GetFiles(feed, "*.nupkg"))
        {
            File.Copy(package, Path.Combine(ownFeed, Path.GetFileName(package)));
        }

        var project = Path.Combine(home, "src", "HelloRootless");
        Directory.CreateDirectory(project);
        await UserProject.WriteNuGetConfigAsync(Path.Combine(home, "src"), ownFeed);
        await File.WriteAllTextAsync(Path.Combine(project, "HelloRootless.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="DockerToVms.Sdk" Version="{LocalFeed.Version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), Program);
        return project;
    }

    // useradd may have given the user ranges already (login.defs); the test gives its own,
    // above every range the machine has given out, and returns the first id.
    private static async Task<long> GiveRangesAsync(string user)
    {
        await Shell.CheckAsync("/", "usermod", "--del-subuids", "1-4294967294",
            "--del-subgids", "1-4294967294", user);
        var end = new[] { "/etc/subuid", "/etc/subgid" }
            .SelectMany(f => File.Exists(f) ? File.ReadLines(f) : [])
            .Select(l => l.Split(':'))
            .Where(f => f.Length == 3)
            .Select(f => long.Parse(f[1], CultureInfo.InvariantCulture)
                + long.Parse(f[2], CultureInfo.InvariantCulture))
            .DefaultIfEmpty(100_000).Max();
        var start = Math.Max(end, 100_000);
        var range = $"{start}-{start + 65535}";
        await Shell.CheckAsync("/", "usermod", "--add-subuids", range, "--add-subgids", range,
            user);
        return start;
    }

    // A clean environment, as a login would give: the user's own home, temporary, .NET and
    // NuGet folders (NuGet and MSBuild put their scratch files in TMPDIR, which would otherwise
    // be /tmp); no build server or node outlives the build, so the user can be removed.
    private static Task<CommandResult> BuildAsUserAsync(TestUser user, string project,
        string verb) =>
        Shell.RunAsync(project, "runuser",
        [
            "-u", user.Name, "--", "env", "-i", "HOME=" + user.Home, "USER=" + user.Name,
            "TMPDIR=" + Path.Combine(user.Home, "tmp"),
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "DOTNET_CLI_HOME=" + user.Home, "NUGET_PACKAGES=" + Path.Combine(user.Home, "nuget"),
            "DOTNET_NOLOGO=1", "DOTNET_CLI_TELEMETRY_OPTOUT=1", "MSBUILDDISABLENODEREUSE=1",
            "DOTNET_CLI_USE_MSBUILD_SERVER=0", "dotnet", verb, "-r", "linux-x64",
            "-p:BuildBaseImage=true", "-p:UseSharedCompilation=false", "-nodeReuse:false",
        ]);

    // The build runs as the user, so it cannot write as root at all; what could go wrong is
    // a file of the user or of its subordinate ids outside its home (a cache, staging or
    // temporary folder in a shared place), or a file of root in its home (a step run through
    // a setuid helper). All are looked for; a negative first id means the user has none.
    // Files an earlier user with the same ids left are there before the build, and are not
    // this build's.
    private static async Task AssertNothingLeftBehindAsync(TestUser user, long first,
        IReadOnlySet<string> before)
    {
        var theirs = (await FilesOutsideHomeAsync(user, first)).Except(before).ToList();
        Assert.IsEmpty(theirs, "the user's files outside its home:\n" + string.Join('\n', theirs));

        var rootOwned = await Shell.RunAsync("/", "find",
            [user.Home, "-ignore_readdir_race", "-user", "root", "-print"]);
        Assert.AreEqual(string.Empty, rootOwned.Output.Trim(),
            "root's files in the user's home");
    }

    private static async Task<HashSet<string>> FilesOutsideHomeAsync(TestUser user, long first)
    {
        var found = await Shell.RunAsync("/", "find",
        [
            // Other processes' temporary files come and go while find walks the folders.
            .. s_shared, "-ignore_readdir_race", "-xdev", "-path", user.Home, "-prune", "-o",
            "-printf", "%U %G %p\n",
        ]);
        return found.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 3))
            .Where(f => f.Length == 3 && f.Take(2).Select(long.Parse).Any(id =>
                id == user.Uid || (first >= 0 && id >= first && id < first + 65536)))
            .Select(f => string.Join(' ', f)).ToHashSet(StringComparer.Ordinal);
    }

    // An ordinary user with a home in a temporary folder; removing it also removes its lines
    // in /etc/subuid and /etc/subgid, and root can delete the files of its subordinate ids.
    private sealed class TestUser : IAsyncDisposable
    {
        private TestUser(string name, string home, long uid)
        {
            Name = name;
            Home = home;
            Uid = uid;
        }

        public string Name { get; }

        public string Home { get; }

        public long Uid { get; }

        public static async Task<TestUser> CreateAsync(string prefix)
        {
            var name = prefix + Guid.NewGuid().ToString("N")[..8];
            var home = Directory.CreateTempSubdirectory("dtv-e2e-rootless-").FullName;
            await Shell.CheckAsync("/", "useradd", "--no-create-home", "--home-dir", home,
                "--shell", "/bin/sh", name);
            var uid = long.Parse((await Shell.CheckAsync("/", "id", "-u", name)).Trim(),
                CultureInfo.InvariantCulture);
            return new TestUser(name, home, uid);
        }

        public async ValueTask DisposeAsync()
        {
            await Shell.RunAsync("/", "userdel", Name);
            await Shell.RunAsync("/", "rm", "-rf", "--one-file-system", Home);
        }
    }
}
