using System.Globalization;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Rootless;

/// <summary>
/// An ordinary user, made for the test, builds the console sample with BuildBaseImage=true
/// through runuser, without sudo, with a home, a NuGet folder and a copy of the package feed
/// of its own. Building the base without root is not available yet, so the build must stop
/// before any download with the error that says so (DTV2101) while the user has subordinate
/// ids, and with the one that names the missing ranges and the usermod commands (DTV9071)
/// once they are taken away; either way nothing may be left behind that belongs to the user
/// or its ids outside its home, and nothing in its home may belong to root. The user and its
/// files are removed at the end.
/// </summary>
[TestClass]
public sealed class RootlessPublishTests
{
    private const string Program = """Console.WriteLine("Hello without root");""";

    // Folders any build may write temporary files to; the user's home lies in one of them and
    // is left out of the search.
    private static readonly string[] s_shared = ["/tmp", "/var/tmp", "/var/cache"];

    // Kernel settings that switch user namespaces off for ordinary users, and the value that
    // does; a machine like that cannot show the error this test is about.
    private static readonly (string Setting, string Blocking)[] s_kernelSwitches =
    [
        ("/proc/sys/kernel/unprivileged_userns_clone", "0"),
        ("/proc/sys/user/max_user_namespaces", "0"),
        ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"),
    ];

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task An_ordinary_user_is_told_what_building_the_base_without_root_needs()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/sbin/useradd")
            || !File.Exists("/usr/sbin/runuser") || !File.Exists("/usr/bin/newuidmap"))
        {
            Assert.Inconclusive("Needs root, useradd, runuser and uidmap.");
        }

        foreach (var (setting, blocking) in s_kernelSwitches)
        {
            if (File.Exists(setting) && File.ReadAllText(setting).Trim() == blocking)
            {
                Assert.Inconclusive($"This kernel keeps ordinary users from user namespaces "
                    + $"({setting} is {blocking}).");
            }
        }

        var feed = await LocalFeed.GetAsync();
        var user = "dtvrp" + Guid.NewGuid().ToString("N")[..8];
        var home = Directory.CreateTempSubdirectory("dtv-e2e-rootless-").FullName;
        await Shell.CheckAsync("/", "useradd", "--no-create-home", "--home-dir", home,
            "--shell", "/bin/sh", user);
        try
        {
            var project = await WriteProjectAsync(home, feed);
            await Shell.CheckAsync("/", "chown", "-R", $"{user}:{user}", home);
            await GiveRangesAsync(user);

            var withRanges = await BuildAsUserAsync(user, home, project);

            CollectionAssert.AreEqual(new[] { "DTV2101" }, withRanges.ErrorCodes.ToArray(),
                withRanges.Tail);
            Assert.IsFalse(withRanges.Output.Contains("mmdebstrap --mode",
                StringComparison.Ordinal), "nothing is bootstrapped\n" + withRanges.Tail);

            await Shell.CheckAsync("/", "usermod", "--del-subuids", "1-4294967294",
                "--del-subgids", "1-4294967294", user);
            var withoutRanges = await BuildAsUserAsync(user, home, project);

            CollectionAssert.AreEqual(new[] { "DTV9071" }, withoutRanges.ErrorCodes.ToArray(),
                withoutRanges.Tail);
            StringAssert.Contains(withoutRanges.Output,
                $"usermod --add-subuids 100000-165535 {user}", withoutRanges.Tail);
            StringAssert.Contains(withoutRanges.Output, "usermod --add-subgids",
                withoutRanges.Tail);

            await AssertNothingLeftBehindAsync(user, home);
        }
        finally
        {
            // userdel also removes the user's lines from /etc/subuid and /etc/subgid.
            await Shell.RunAsync("/", "userdel", user);
            Directory.Delete(home, recursive: true);
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
    // above every range the machine has given out.
    private static async Task GiveRangesAsync(string user)
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
    }

    // A clean environment, as a login would give: the user's own home, temporary, .NET and
    // NuGet folders (NuGet and MSBuild put their scratch files in TMPDIR, which would otherwise
    // be /tmp); no build server or node outlives the build, so the user can be removed.
    private static Task<CommandResult> BuildAsUserAsync(string user, string home,
        string project) =>
        Shell.RunAsync(project, "runuser",
        [
            "-u", user, "--", "env", "-i", "HOME=" + home, "USER=" + user,
            "TMPDIR=" + Path.Combine(home, "tmp"),
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "DOTNET_CLI_HOME=" + home, "NUGET_PACKAGES=" + Path.Combine(home, "nuget"),
            "DOTNET_NOLOGO=1", "DOTNET_CLI_TELEMETRY_OPTOUT=1", "MSBUILDDISABLENODEREUSE=1",
            "DOTNET_CLI_USE_MSBUILD_SERVER=0", "dotnet", "build", "-r", "linux-x64",
            "-p:BuildBaseImage=true", "-p:UseSharedCompilation=false", "-nodeReuse:false",
        ]);

    // The build runs as the user, so it cannot write as root at all; what could go wrong is
    // a file of the user outside its home (a cache or staging folder in a shared place), or
    // a file of root in its home (a step run through a setuid helper). Both are looked for.
    // Files of its subordinate ids could only come from a bootstrap, which never starts here.
    private static async Task AssertNothingLeftBehindAsync(string user, string home)
    {
        var outside = await Shell.RunAsync("/", "find",
        [
            // Other processes' temporary files come and go while find walks the folders.
            .. s_shared, "-ignore_readdir_race", "-xdev", "-path", home, "-prune", "-o",
            "-user", user, "-print",
        ]);
        Assert.AreEqual(string.Empty, outside.Output.Trim(),
            "the user's files outside its home");

        var rootOwned = await Shell.RunAsync("/", "find",
            [home, "-ignore_readdir_race", "-user", "root", "-print"]);
        Assert.AreEqual(string.Empty, rootOwned.Output.Trim(),
            "root's files in the user's home");
    }
}
