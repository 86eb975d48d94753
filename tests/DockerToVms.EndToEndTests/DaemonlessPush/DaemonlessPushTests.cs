using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using DockerToVms.EndToEndTests.Infrastructure;
using DockerToVms.IntegrationTests.Registry;

namespace DockerToVms.EndToEndTests.DaemonlessPush;

/// <summary>
/// A publish with ContainerRegistry on a machine where no Docker daemon answers (DOCKER_HOST
/// names a socket nobody listens on): the image the build wrote itself goes to the test's own
/// registry, with the archive's manifest digest, and the real daemon pulls it back from there
/// and runs it. The base comes from the tests' shared cache, so nothing is bootstrapped when
/// another test has built it already.
/// </summary>
[TestClass]
public sealed partial class DaemonlessPushTests
{
    private const string Program = "Console.WriteLine(\"pushed without a daemon \" + args.Length);";

    // The same point in time as the archive tests, so the base layer they keep is reused.
    private const string SourceDateEpoch = "1735689600";

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(1_200_000, CooperativeCancellation = true)]
    public async Task I_can_push_to_a_registry_from_a_machine_without_a_daemon()
    {
        if (!LocalRegistry.IsInstalled)
        {
            Assert.Inconclusive("apt-get install docker-registry");
        }

        await using var registry = await LocalRegistry.StartAsync();
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);
        var noDaemon = Directory.CreateTempSubdirectory("dtv-e2e-nodaemon-push-").FullName;
        var pulled = $"{registry.Host}/{project.Repository}:latest";
        try
        {
            var clock = Stopwatch.StartNew();
            var publish = await Shell.RunAsync(project.Directory, "env",
            [
                $"DOCKER_HOST=unix://{Path.Combine(noDaemon, "docker.sock")}",
                $"SOURCE_DATE_EPOCH={SourceDateEpoch}",
                "dotnet", "publish", "-r", "linux-x64", "-p:BuildBaseImage=true",
                $"-p:ContainerRegistry={registry.Host}",
            ]);
            var elapsed = clock.Elapsed;

            Assert.AreEqual(0, publish.ExitCode, publish.Tail);
            StringAssert.Contains(publish.Output, "no Docker daemon answered", publish.Tail);
            var archived = Match(ArchiveLine(), publish);
            var pushed = Match(PushLine(), publish);
            Assert.AreEqual(archived, pushed,
                "the registry holds the archive's manifest, byte for byte");

            // What the registry serves under the tag is that manifest.
            var served = await Shell.CheckAsync("/", "bash", "-c",
                "curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "
                + $"http://{registry.Host}/v2/{project.Repository}/manifests/latest | sha256sum");
            Assert.AreEqual(archived, "sha256:" + served.Split(' ')[0].Trim());

            // The test's own registry on the loopback address: Docker speaks HTTP to it.
            await Shell.CheckAsync("/", "docker", "pull", pulled);
            var output = await Shell.CheckAsync("/", "docker", "run", "--rm", "--pull", "never",
                "--network", "none", pulled);
            StringAssert.Contains(output, "pushed without a daemon 0");
            TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"publish to an archive and a registry without a daemon: "
                + $"{elapsed.TotalSeconds:0} s"));
        }
        finally
        {
            await Shell.RunAsync("/", "docker", "image", "rm", "--force", pulled);
            Directory.Delete(noDaemon, recursive: true);
        }
    }

    private static string Match(Regex pattern, CommandResult publish)
    {
        var match = pattern.Match(publish.Output);
        Assert.IsTrue(match.Success, publish.Tail);
        return match.Groups["digest"].Value;
    }

    [GeneratedRegex(@"\(manifest (?<digest>sha256:[0-9a-f]{64})\)")]
    private static partial Regex ArchiveLine();

    [GeneratedRegex(@"pushed \S+:latest \((?<digest>sha256:[0-9a-f]{64})\)")]
    private static partial Regex PushLine();
}
