using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.IntegrationTests.Mmdebstrap;

/// <summary>
/// One real mmdebstrap bootstrap of the default recipe, compared with the shared root
/// filesystem debootstrap made: the same packages, and the same files apart from what the
/// tools leave behind of their own work (downloaded packages, logs, caches).
/// </summary>
[TestClass]
public sealed class MmdebstrapBootstrapTests
{
    // Files only one of the tools leaves: debootstrap keeps the downloaded packages, its logs,
    // dpkg's old selection files, and the archive's Release file with its detached signature
    // beside the InRelease file both keep; mmdebstrap writes apt's state and dpkg's
    // architecture. None of them is part of what the recipe asks for.
    private static readonly string[] s_toolLeftovers =
    [
        "./var/cache/apt/archives/", "./var/cache/ldconfig/", "./var/log/",
        "./var/lib/dpkg/available", "./var/lib/dpkg/cmethopt", "./var/lib/dpkg/arch",
        "./var/lib/apt/extended_states", "./var/lib/apt/lists/lock",
        "./var/lib/apt/lists/partial", "./run/mount",
    ];

    private static readonly string[] s_detachedRelease = ["_Release", "_Release.gpg"];

    [TestMethod]
    public async Task I_can_bootstrap_with_mmdebstrap_and_get_the_packages_debootstrap_gives()
    {
        var shared = await SharedRootfs.GetAsync();
        using var target = new TemporaryRootfs();
        var engine = new RecordingBuildEngine();

        var succeeded = new DebootstrapTask
        {
            BuildEngine = engine,
            Suite = SharedRootfs.Suite,
            Mirror = SharedRootfs.Mirror,
            TargetDirectory = target.Directory,
            Bootstrapper = "mmdebstrap",
        }.Execute();

        Assert.IsTrue(succeeded, engine.Log);
        StringAssert.Contains(engine.Log, "with mmdebstrap");
        Assert.IsEmpty(target.Mounts, "mmdebstrap's mounts must not outlive it");

        var expected = await Packages(shared);
        var actual = await Packages(target.Directory);
        CollectionAssert.AreEqual(expected, actual,
            $"debootstrap: {expected.Count} packages, mmdebstrap: {actual.Count}\n"
            + string.Join('\n', expected.Except(actual).Select(p => "- " + p)
                .Concat(actual.Except(expected).Select(p => "+ " + p))));

        var debootstrapFiles = await FilesAsync(shared);
        var mmdebstrapFiles = await FilesAsync(target.Directory);
        var differences = debootstrapFiles.Except(mmdebstrapFiles).Select(f => "- " + f)
            .Concat(mmdebstrapFiles.Except(debootstrapFiles).Select(f => "+ " + f))
            .ToList();
        Assert.IsEmpty(differences, string.Join('\n', differences));

        Assert.IsFalse(File.Exists(Path.Combine(target.Directory,
            "etc/apt/apt.conf.d/99mmdebstrap")), "the bootstrap's apt settings stay out");
        Assert.IsTrue(Directory.EnumerateFiles(Path.Combine(target.Directory,
            "var/lib/apt/lists"), "*_Packages").Any(), "the package lists are kept");
    }

    private static async Task<List<string>> Packages(string root) =>
        [.. (await Tool.RunAsync("dpkg-query", "--admindir=" + Path.Combine(root, "var/lib/dpkg"),
            "-W", "-f=${Package} ${Version} ${Architecture}\n"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];

    // find lists a link as a link; .NET's enumeration would follow /dev/fd into this test's
    // own /proc/self/fd.
    private static async Task<HashSet<string>> FilesAsync(string root) =>
        (await Tool.RunAsync("find", root, "-mindepth", "1", "-printf", "./%P\n"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !s_toolLeftovers.Any(l => p.StartsWith(l, StringComparison.Ordinal)
                || p + "/" == l))
            .Where(p => !s_detachedRelease.Any(r => p.EndsWith(r, StringComparison.Ordinal)))
            .ToHashSet(StringComparer.Ordinal);
}
