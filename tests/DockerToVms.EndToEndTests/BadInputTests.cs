using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests;

/// <summary>
/// Each mistake a user can make gets an error with a DTV code, a failed build, nothing left
/// mounted, and no cache entry or staging directory that a later build could mistake for a
/// finished one.
/// </summary>
[TestClass]
public sealed class BadInputTests
{
    private const string Program = "Console.WriteLine(\"unused\");";
    private static UserProject? s_project;

    [ClassInitialize]
    public static async Task CreateProject(TestContext context) =>
        s_project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);

    [ClassCleanup]
    public static async Task RemoveProject()
    {
        if (s_project is not null)
        {
            await s_project.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task A_plain_build_reports_an_invalid_repository_name()
    {
        var build = await Shell.RunAsync(s_project!.Directory, "dotnet", "build",
            "-p:ContainerRepository=My App");

        AssertFailedWith(build, "DTV3003");
    }

    [TestMethod]
    public async Task A_runtime_identifier_without_a_debian_architecture_is_refused()
    {
        var publish = await Shell.RunAsync(s_project!.Directory, "dotnet", "publish",
            "-r", "linux-musl-x64", "-p:BuildBaseImage=true");

        AssertFailedWith(publish, "DTV9002");
    }

    [TestMethod]
    public async Task An_unknown_suite_is_refused_before_a_bootstrap()
    {
        var publish = await s_project!.PublishAsync("-p:BaseImageSuite=no-such-suite");

        AssertFailedWith(publish, "DTV1002");
    }

    // Without a daemon a publish writes an archive instead (see Archive/ArchiveOutputTests);
    // a base taken from an image needs one all the same.
    [TestMethod]
    public async Task No_docker_daemon_for_a_base_from_an_image_is_reported_before_any_slow_step()
    {
        var publish = await s_project!.PublishAsync(
            "-p:DockerHost=unix:///tmp/dtv-e2e-no-daemon.sock",
            "-p:BaseImageFrom=debian:trixie-slim");

        AssertFailedWith(publish, "DTV3001");
        Assert.IsFalse(publish.Output.Contains("debootstrap", StringComparison.Ordinal),
            publish.Tail);
    }

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public async Task A_failing_run_command_fails_the_publish_and_caches_nothing()
    {
        var marker = "dtv-e2e-" + Guid.NewGuid().ToString("N")[..8];
        var cache = Directory.CreateTempSubdirectory("dtv-e2e-cache-").FullName;
        await using var failing = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program,
            $"""
            <ItemGroup>
              <BaseImageRun Include="marker" Command="echo {marker}; exit 3" />
            </ItemGroup>
            """);
        try
        {
            var run = await failing.PublishAsync($"-p:BaseImageCacheDirectory={cache}");

            AssertFailedWith(run, "DTV2002");
            StringAssert.Contains(run.Output, marker);
            Assert.IsEmpty(Directory.EnumerateFileSystemEntries(Path.Combine(cache, "rootfs")),
                "no cache entry");
            Assert.IsEmpty(Directory.EnumerateFileSystemEntries(Path.Combine(cache, "staging")),
                "no staging directory left");
            var mounts = await File.ReadAllTextAsync("/proc/self/mountinfo");
            Assert.IsFalse(mounts.Contains(cache, StringComparison.Ordinal), mounts);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static void AssertFailedWith(CommandResult result, string code)
    {
        Assert.AreNotEqual(0, result.ExitCode, result.Tail);
        CollectionAssert.Contains(result.ErrorCodes.ToArray(), code, result.Tail);
    }
}
