using System.Formats.Tar;
using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Rootfs;

namespace DockerToVms.IntegrationTests.Daemonless;

/// <summary>
/// Layers of a real bootstrapped Debian, written by the library: two copies of one root
/// filesystem, trimmed and normalised, give one layer, whatever their inodes and the times
/// the copies were made; and the layer agrees with what GNU tar reads from it.
/// </summary>
[TestClass]
[TestCategory("Integration")]
public sealed class ReproducibleLayerTests
{
    private static readonly DateTimeOffset s_epoch = DateTimeOffset.FromUnixTimeSeconds(1735689600);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task Two_copies_of_a_bootstrapped_root_filesystem_give_the_same_layer()
    {
        using var first = await SharedRootfs.CopyAsync();
        using var second = await SharedRootfs.CopyAsync();
        var work = Directory.CreateTempSubdirectory("dtv-it-layer-").FullName;
        try
        {
            foreach (var copy in new[] { first, second })
            {
                RootfsTrimmer.Trim(copy.Directory, TrimLevel.Slim);
                RootfsNormaliser.Normalise(copy.Directory, TrimLevel.Slim, s_epoch);
            }

            var a = await LayerWriter.WriteFileAsync(first.Directory,
                Path.Combine(work, "a.tar"), CancellationToken.None, s_epoch);
            var b = await LayerWriter.WriteFileAsync(second.Directory,
                Path.Combine(work, "b.tar"), CancellationToken.None, s_epoch);
            TestContext.WriteLine($"{a.DiffId} {a.Size / 1048576.0:0.0} MB");

            Assert.AreEqual(a.DiffId, b.DiffId);
            var entries = Entries(a.Path);
            Assert.IsTrue(entries.All(e => e.ModificationTime <= s_epoch));
            Assert.IsTrue(entries.Any(e => e.EntryType == TarEntryType.HardLink),
                "Debian's root filesystem has hard links");
            Assert.IsTrue(entries.Any(e => e.EntryType == TarEntryType.SymbolicLink));

            // GNU tar, which container tools' readers follow, lists every entry.
            var listing = await Tool.RunAsync("tar", "-tf", a.Path);
            Assert.AreEqual(entries.Count,
                listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static List<TarEntry> Entries(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new TarReader(stream);
        var entries = new List<TarEntry>();
        while (reader.GetNextEntry() is { } entry)
        {
            entries.Add(entry);
        }

        return entries;
    }
}
