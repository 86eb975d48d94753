using System.Text.RegularExpressions;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Bootstrappers;

/// <summary>
/// The console sample published cold once with each bootstrapper, each into a cache of its
/// own: both give the same recipe digest, the same packages and the same files in the base
/// the image gets, and the log says which tool ran.
/// </summary>
[TestClass]
public sealed partial class BootstrapperTests
{
    private const string Program = """
        Console.WriteLine("Hello from a base either bootstrapper made");
        Console.WriteLine(File.ReadAllText("/etc/os-release").Split('\n')[0]);
        """;

    // What only one of the tools leaves in the full root filesystem (see the integration
    // test of the mmdebstrap backend); the trimmed base the image gets has none of it.
    private static readonly string[] s_toolLeftovers =
    [
        "var/cache/apt/archives/", "var/cache/ldconfig/", "var/log/", "var/lib/dpkg/available",
        "var/lib/dpkg/cmethopt", "var/lib/dpkg/arch", "var/lib/apt/extended_states",
        "var/lib/apt/lists/lock", "var/lib/apt/lists/partial", "run/mount",
    ];

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_get_the_same_image_from_debootstrap_and_from_mmdebstrap()
    {
        var debootstrap = await PublishColdAsync("debootstrap");
        var mmdebstrap = await PublishColdAsync("mmdebstrap");
        try
        {
            Assert.AreEqual(debootstrap.Digest, mmdebstrap.Digest,
                "the bootstrapper is not part of the recipe");
            CollectionAssert.AreEqual(debootstrap.Packages, mmdebstrap.Packages);
            await AssertSameFilesAsync(debootstrap.AppBase, mmdebstrap.AppBase, []);
            await AssertSameFilesAsync(debootstrap.FullRootfs, mmdebstrap.FullRootfs,
                s_toolLeftovers);
        }
        finally
        {
            await debootstrap.DisposeAsync();
            await mmdebstrap.DisposeAsync();
        }
    }

    private static async Task<Published> PublishColdAsync(string bootstrapper)
    {
        var cache = Directory.CreateTempSubdirectory($"dtv-e2e-{bootstrapper}-").FullName;
        var project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);
        var published = new Published(project, cache);

        var result = await project.PublishAsync($"-p:BaseImageBootstrapper={bootstrapper}",
            $"-p:BaseImageCacheDirectory={cache}");
        Assert.AreEqual(0, result.ExitCode, result.Tail);
        StringAssert.Contains(result.Output, $"with {bootstrapper} (BaseImageBootstrapper=",
            result.Tail);
        StringAssert.Contains(result.Output, "bootstrap took", result.Tail);
        StringAssert.Contains(await project.RunImageAsync(),
            "Hello from a base either bootstrapper made");

        var digest = BaseRecipe().Match(result.Output);
        Assert.IsTrue(digest.Success, result.Tail);
        published.Digest = digest.Groups[1].Value;
        published.FullRootfs = Directory.GetDirectories(Path.Combine(cache, "rootfs")).Single()
            + "/rootfs";
        published.AppBase = Directory.GetDirectories(Path.Combine(cache, "app", "rootfs"))
            .Single() + "/rootfs";
        published.Packages = Packages(published.FullRootfs);
        return published;
    }

    private static async Task AssertSameFilesAsync(string expectedRoot, string actualRoot,
        string[] ignored)
    {
        var expected = await FilesAsync(expectedRoot, ignored);
        var actual = await FilesAsync(actualRoot, ignored);
        var differences = expected.Except(actual).Select(f => "- " + f)
            .Concat(actual.Except(expected).Select(f => "+ " + f)).ToList();
        Assert.IsEmpty(differences, $"{expectedRoot} (debootstrap) and {actualRoot} "
            + "(mmdebstrap):\n" + string.Join('\n', differences.Take(50)));
    }

    // find lists a link as a link; .NET's enumeration would follow /dev/fd into this test's
    // own /proc/self/fd.
    private static async Task<HashSet<string>> FilesAsync(string root, string[] ignored) =>
        (await Shell.CheckAsync("/", "find", root, "-mindepth", "1", "-printf", "%P\n"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !ignored.Any(i => p.StartsWith(i, StringComparison.Ordinal)
                || p + "/" == i))
            .Where(p => !p.EndsWith("_Release", StringComparison.Ordinal)
                && !p.EndsWith("_Release.gpg", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);

    private static List<string> Packages(string root)
    {
        var status = Path.Combine(root, "var/lib/dpkg/status");
        return File.Exists(status)
            ? [.. File.ReadLines(status).Where(l => l.StartsWith("Package: ", StringComparison
                .Ordinal) || l.StartsWith("Version: ", StringComparison.Ordinal))]
            : [];
    }

    [GeneratedRegex(@"base recipe ([0-9a-f]{12}) ")]
    private static partial Regex BaseRecipe();

    private sealed class Published(UserProject project, string cache) : IAsyncDisposable
    {
        public string Digest { get; set; } = string.Empty;

        public string FullRootfs { get; set; } = string.Empty;

        public string AppBase { get; set; } = string.Empty;

        public List<string> Packages { get; set; } = [];

        public async ValueTask DisposeAsync()
        {
            await project.DisposeAsync();
            Directory.Delete(cache, recursive: true);
        }
    }
}
