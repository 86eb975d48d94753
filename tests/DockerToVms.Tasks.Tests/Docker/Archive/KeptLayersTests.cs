using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Registry;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Tests.Registry;

namespace DockerToVms.Tasks.Tests.Docker.Archive;

/// <summary>
/// Base layers kept in the cache between builds and between the archive step and the push
/// of a base: taken while clean, written again for a new root filesystem or a half-written
/// one.
/// </summary>
[TestClass]
public sealed class KeptLayersTests : IDisposable
{
    private const string Digest = "0123456789abcdef0123456789abcdef";
    private static readonly DateTimeOffset s_epoch = DateTimeOffset.FromUnixTimeSeconds(1735689600);
    private readonly TemporaryDirectory _folder = new("dtv-kept-layers-");

    public void Dispose() => _folder.Dispose();

    private string Root(string content)
    {
        _folder.Write("entry/rootfs/etc/os-release", content);
        return _folder.Combine("entry/rootfs");
    }

    private Task<LayerFile> KeptAsync(string root) => KeptAsync(root, s_epoch);

    private Task<LayerFile> KeptAsync(string root, DateTimeOffset? epoch) =>
        KeptLayers.GetOrWriteAsync(_folder.Combine("cache"), Digest, root, epoch,
            CancellationToken.None);

    [TestMethod]
    public async Task A_second_build_takes_the_kept_layer_without_writing_it()
    {
        var root = Root("ID=debian\n");
        var first = await KeptAsync(root);
        var written = File.GetLastWriteTimeUtc(first.Path);
        File.SetLastWriteTimeUtc(first.Path, written.AddHours(-1));

        var second = await KeptAsync(root);

        Assert.AreEqual(first, second);
        Assert.AreEqual(written.AddHours(-1), File.GetLastWriteTimeUtc(second.Path),
            "the file was not written again");
    }

    [TestMethod]
    public async Task A_base_bootstrapped_again_under_the_same_digest_gets_a_new_layer()
    {
        var first = await KeptAsync(Root("ID=debian\n"));
        Directory.Delete(_folder.Combine("entry"), recursive: true);

        var again = await KeptAsync(Root("ID=debian\nVERSION=13\n"));

        Assert.AreNotEqual(first.DiffId, again.DiffId);
        var fresh = await LayerWriter.WriteFileAsync(_folder.Combine("entry/rootfs"),
            _folder.Combine("fresh.tar"), CancellationToken.None, s_epoch);
        Assert.AreEqual(fresh.DiffId, again.DiffId);
    }

    [TestMethod]
    public async Task A_layer_whose_diff_id_was_never_written_is_written_again()
    {
        var root = Root("ID=debian\n");
        var first = await KeptAsync(root);
        File.Delete(Path.ChangeExtension(first.Path, ".diffid"));
        File.WriteAllText(first.Path, "half");

        var again = await KeptAsync(root);

        Assert.AreEqual(first.DiffId, again.DiffId);
        Assert.AreEqual(first.Size, new FileInfo(again.Path).Length);
    }

    [TestMethod]
    public async Task The_base_pushed_to_a_cache_registry_is_the_layer_kept_for_the_archive()
    {
        // The push dates the layer as SOURCE_DATE_EPOCH in the environment says, as the
        // archive step does through the property of that name.
        var root = Root("ID=debian\n");
        var kept = await KeptAsync(root, LayerTarWriter.EpochFromEnvironment());
        File.SetLastWriteTimeUtc(kept.Path, File.GetLastWriteTimeUtc(kept.Path).AddHours(-1));
        var keptTime = File.GetLastWriteTimeUtc(kept.Path);
        using var registry = new FakeRegistry();
        using var client = new RegistryClient(
            RegistryReference.Create(FakeRegistry.Host, "ci/bases"), null, registry);
        await RegistryBaseCache.PushAsync(client, Digest, _folder.Combine("entry"), "amd64",
            _folder.CreateFolder("work"), (_, _) => { }, CancellationToken.None,
            _folder.Combine("cache"));

        Assert.IsTrue(registry.Blobs.ContainsKey(("ci/bases", kept.DiffId)));
        Assert.AreEqual(keptTime, File.GetLastWriteTimeUtc(kept.Path), "not written again");
        Assert.IsEmpty(Directory.GetFiles(_folder.Combine("work")));
    }
}
