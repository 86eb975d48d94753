using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Robustness;

/// <summary>
/// A cache on a file system too small for a base image: the publish fails with an error that
/// says so, and leaves no cache entry, no staging and no mount.
/// </summary>
[TestClass]
public sealed class DiskFullTests
{
    private const string Program = "Console.WriteLine(\"unused\");";

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task A_cache_on_a_small_file_system_fails_with_a_disk_error_and_keeps_nothing()
    {
        var cache = Directory.CreateTempSubdirectory("dtv-e2e-small-").FullName;
        await Shell.CheckAsync("/", "mount", "-t", "tmpfs", "-o", "size=64m,mode=0755",
            "dtv-e2e-small", cache);
        try
        {
            await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);

            var checkedFirst = await project.PublishAsync($"-p:BaseImageCacheDirectory={cache}");

            AssertFailedWith(checkedFirst, "DTV9011");
            Assert.IsFalse(checkedFirst.Output.Contains("debootstrap --variant",
                StringComparison.Ordinal), "nothing is downloaded\n" + checkedFirst.Tail);
            AssertNothingKept(cache);

            // Without the check up front, the disk fills during the bootstrap.
            var filled = await project.PublishAsync($"-p:BaseImageCacheDirectory={cache}",
                "-p:BaseImageMinimumFreeSpace=0");

            AssertFailedWith(filled, "DTV9012");
            AssertNothingKept(cache);
        }
        finally
        {
            await Shell.RunAsync("/", "umount", cache);
            Directory.Delete(cache, recursive: true);
        }
    }

    private static void AssertFailedWith(CommandResult result, string code)
    {
        Assert.AreNotEqual(0, result.ExitCode, result.Tail);
        CollectionAssert.Contains(result.ErrorCodes.ToArray(), code, result.Tail);
    }

    private static void AssertNothingKept(string cache)
    {
        Assert.IsEmpty(Directory.EnumerateFileSystemEntries(Path.Combine(cache, "rootfs")),
            "no cache entry");
        Assert.IsEmpty(Directory.EnumerateFileSystemEntries(Path.Combine(cache, "staging")),
            "no staging left");
        var mounts = File.ReadAllLines("/proc/self/mountinfo")
            .Where(l => l.Contains(cache + "/", StringComparison.Ordinal)).ToList();
        Assert.IsEmpty(mounts, string.Join('\n', mounts));
    }
}
