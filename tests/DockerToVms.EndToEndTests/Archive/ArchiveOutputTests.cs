using System.Security.Cryptography;
using System.Text.RegularExpressions;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Archive;

/// <summary>
/// Publishing on a machine where no Docker daemon answers (DOCKER_HOST names a socket nobody
/// listens on): the image goes to an archive that skopeo reads and the real daemon then loads
/// and runs; and
/// two publishes from two empty caches give the same archive, byte for byte.
/// </summary>
[TestClass]
public sealed partial class ArchiveOutputTests
{
    private const string Program = """
        Console.WriteLine("Hello from an archive");
        Console.WriteLine(File.ReadAllText("/etc/os-release").Split('\n')[0]);
        """;

    // A fixed point in time: 2025-01-01T00:00:00Z.
    private const string SourceDateEpoch = "1735689600";

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_can_publish_without_a_daemon_and_load_the_archive_into_docker_later()
    {
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);
        var noDaemon = Directory.CreateTempSubdirectory("dtv-e2e-nodaemon-").FullName;
        try
        {
            var publish = await PublishAsync(project, noDaemon, []);

            Assert.AreEqual(0, publish.ExitCode, publish.Tail);
            StringAssert.Contains(publish.Output, "no Docker daemon answered", publish.Tail);
            var archive = ArchivePath(publish);
            Assert.AreEqual(project.Repository + ".tar.gz", Path.GetFileName(archive));
            Assert.IsTrue(File.Exists(archive), publish.Tail);
            Assert.IsEmpty(Directory.GetFiles(Path.GetDirectoryName(archive)!, "*.tmp"),
                "no temporary file is left beside the archive");

            // skopeo reads the same file as an OCI archive, without any daemon.
            var skopeo = await Shell.RunAsync(project.Directory, "skopeo", "inspect", "--config",
                "oci-archive:" + archive);
            Assert.AreEqual(0, skopeo.ExitCode, skopeo.Tail);
            StringAssert.Contains(skopeo.Output, "\"architecture\": \"amd64\"", skopeo.Tail);

            var load = await Shell.RunAsync(project.Directory, "docker", "load", "-i", archive);
            Assert.AreEqual(0, load.ExitCode, load.Tail);
            var output = await project.RunImageAsync();
            StringAssert.Contains(output, "Hello from an archive");
            StringAssert.Contains(output, "Debian GNU/Linux 13 (trixie)");
            Assert.AreEqual("amd64 linux app /app 2", await project.InspectAsync(
                project.Repository, "{{.Architecture}} {{.Os}} {{.Config.User}} "
                + "{{.Config.WorkingDir}} {{len .RootFS.Layers}}"));
            Assert.AreEqual("2", await project.InspectAsync(project.Repository,
                "{{len .RootFS.Layers}}"), "a base layer and an app layer");
        }
        finally
        {
            Directory.Delete(noDaemon, recursive: true);
        }
    }

    [TestMethod]
    [Timeout(1_500_000, CooperativeCancellation = true)]
    public async Task Two_publishes_from_empty_caches_give_the_same_layers_and_manifest()
    {
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);
        var work = Directory.CreateTempSubdirectory("dtv-e2e-repro-").FullName;
        try
        {
            var results = new List<(string Archive, string Manifest)>();
            foreach (var run in new[] { "first", "second" })
            {
                var publish = await PublishAsync(project, work,
                [
                    $"-p:BaseImageCacheDirectory={Path.Combine(work, run + "-cache")}",
                    $"-p:ContainerArchiveOutputPath={Path.Combine(work, run + ".tar")}",
                ]);
                Assert.AreEqual(0, publish.ExitCode, publish.Tail);
                StringAssert.Contains(publish.Output, "bootstrap took", "an empty cache");
                results.Add((ArchivePath(publish), ManifestDigest(publish)));
            }

            Assert.AreEqual(results[0].Manifest, results[1].Manifest,
                "the manifest names the same layers and configuration");
            Assert.AreEqual(Digest(results[0].Archive), Digest(results[1].Archive));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    // The daemon's address is a socket in an empty folder, so nothing answers there.
    private static Task<CommandResult> PublishAsync(UserProject project, string folder,
        string[] arguments) =>
        Shell.RunAsync(project.Directory, "env",
        [
            $"DOCKER_HOST=unix://{Path.Combine(folder, "docker.sock")}",
            $"SOURCE_DATE_EPOCH={SourceDateEpoch}",
            "dotnet", "publish", "-r", "linux-x64", "-p:BuildBaseImage=true", .. arguments,
        ]);

    private static string ArchivePath(CommandResult publish)
    {
        var match = LoadCommand().Match(publish.Output);
        Assert.IsTrue(match.Success, publish.Tail);
        return match.Groups["path"].Value.Trim();
    }

    private static string ManifestDigest(CommandResult publish)
    {
        var match = ManifestLine().Match(publish.Output);
        Assert.IsTrue(match.Success, publish.Tail);
        return match.Groups["digest"].Value;
    }

    private static string Digest(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    [GeneratedRegex(@"docker load -i (?<path>\S+)")]
    private static partial Regex LoadCommand();

    [GeneratedRegex(@"\(manifest (?<digest>sha256:[0-9a-f]{64})\)")]
    private static partial Regex ManifestLine();
}
