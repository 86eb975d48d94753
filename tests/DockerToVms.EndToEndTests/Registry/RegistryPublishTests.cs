using System.Diagnostics;
using System.Globalization;
using DockerToVms.EndToEndTests.Infrastructure;
using DockerToVms.IntegrationTests.Registry;

namespace DockerToVms.EndToEndTests.Registry;

/// <summary>
/// Two machines sharing bases through a registry, played by two projects with two empty
/// caches against a registry of the test's own: the first bootstraps, pushes the base and
/// pushes its app image (ContainerRegistry); the second, with no base in its cache nor in
/// Docker, takes it from the registry instead of bootstrapping. (A failed push leaving the
/// image in Docker is shown by the integration tests, which need no bootstrap for it.)
/// </summary>
[TestClass]
public sealed class RegistryPublishTests
{
    private const string Program = "Console.WriteLine(\"shared base \" + args.Length);";

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(1_500_000, CooperativeCancellation = true)]
    public async Task A_second_machine_takes_the_base_from_the_cache_registry_instead_of_bootstrapping()
    {
        if (!LocalRegistry.IsInstalled)
        {
            Assert.Inconclusive("apt-get install docker-registry");
        }

        await using var registry = await LocalRegistry.StartAsync();
        var firstCache = Directory.CreateTempSubdirectory("dtv-e2e-registry-cache-").FullName;
        var secondCache = Directory.CreateTempSubdirectory("dtv-e2e-registry-cache-").FullName;
        var baseRepository = $"dtv-e2e-regbase-{Guid.NewGuid():N}"[..24];
        // slim: the pulled base is loaded into Docker as it was pushed, so both machines'
        // bases can be compared layer for layer. Nothing to install keeps the bootstrap short.
        string[] settings =
        [
            $"-p:BaseImageCacheRegistry={registry.Host}/dtv-cache",
            $"-p:BaseImageRepository={baseRepository}", "-p:BaseImageTrim=slim",
            "-p:BaseImageIncludeDotNetDependencies=false", "-p:InvariantGlobalization=true",
        ];
        try
        {
            string firstLayers;
            TimeSpan cold;
            await using (var first = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program))
            {
                var clock = Stopwatch.StartNew();
                var bootstrapped = await first.PublishAsync([.. settings,
                    $"-p:BaseImageCacheDirectory={firstCache}",
                    $"-p:ContainerRegistry={registry.Host}"]);
                cold = clock.Elapsed;
                Assert.AreEqual(0, bootstrapped.ExitCode, bootstrapped.Tail);
                StringAssert.Contains(bootstrapped.Output, "bootstrap took", bootstrapped.Tail);
                StringAssert.Contains(bootstrapped.Output, "pushed the base of recipe",
                    bootstrapped.Tail);
                StringAssert.Contains(bootstrapped.Output,
                    $"pushed {registry.Host}/{first.Repository}:latest", bootstrapped.Tail);
                var manifest = await Shell.CheckAsync("/", "curl", "-fsS", "-H",
                    "Accept: application/vnd.oci.image.manifest.v1+json",
                    $"http://{registry.Host}/v2/{first.Repository}/manifests/latest");
                StringAssert.Contains(manifest, await first.InspectAsync(first.Repository, "{{.Id}}"),
                    "the pushed configuration is the image in Docker");
                firstLayers = await BaseLayersAsync(first, baseRepository);
            }

            // The second machine: no base in Docker, an empty cache.
            await UserProject.RemoveImagesAsync(baseRepository);
            await using var second = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);
            var pullClock = Stopwatch.StartNew();
            var pulled = await second.PublishAsync([.. settings,
                $"-p:BaseImageCacheDirectory={secondCache}"]);
            var warmFromRegistry = pullClock.Elapsed;

            Assert.AreEqual(0, pulled.ExitCode, pulled.Tail);
            StringAssert.Contains(pulled.Output, "from the cache registry", pulled.Tail);
            Assert.DoesNotContain("bootstrap took", pulled.Output, pulled.Tail);
            Assert.AreEqual(firstLayers, await BaseLayersAsync(second, baseRepository),
                "the same base layer on both machines");
            StringAssert.Contains(await second.RunImageAsync(), "shared base 0");
            TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cold publish with a bootstrap and pushes: {cold.TotalSeconds:0} s; " +
                $"publish with the base from the registry: {warmFromRegistry.TotalSeconds:0} s"));
        }
        finally
        {
            await UserProject.RemoveImagesAsync(baseRepository);
            Directory.Delete(firstCache, recursive: true);
            Directory.Delete(secondCache, recursive: true);
        }
    }

    // The base is tagged with the recipe digest's prefix; its layers are those of the only
    // image in the base repository.
    private static async Task<string> BaseLayersAsync(UserProject project, string repository)
    {
        var ids = await Shell.CheckAsync("/", "docker", "images", "-q", "--filter",
            $"reference={repository}");
        var id = ids.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct().Single();
        return await project.InspectAsync(id, "{{json .RootFS.Layers}}");
    }
}
