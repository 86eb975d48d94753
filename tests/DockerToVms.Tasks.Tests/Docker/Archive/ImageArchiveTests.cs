using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Docker.Archive;

/// <summary>
/// The image archive that goes to the daemon's load endpoint: read back with a tar reader
/// and a JSON parser, the way docker load and OCI tools read it.
/// </summary>
[TestClass]
public sealed class ImageArchiveTests : IDisposable
{
    private static readonly DateTimeOffset s_created = new(2025, 8, 9, 10, 11, 12, TimeSpan.Zero);
    private readonly TemporaryDirectory _folder = new("dtv-archive-");
    private readonly byte[] _layerBytes = [.. Enumerable.Range(0, 5000).Select(i => (byte)i)];
    private LayerFile _layer = null!;

    [TestInitialize]
    public void WriteLayer()
    {
        var path = _folder.Combine("layer.tar");
        File.WriteAllBytes(path, _layerBytes);
        _layer = new LayerFile(path, Digest(_layerBytes), _layerBytes.Length);
    }

    public void Dispose() => _folder.Dispose();

    private ImageConfig Config() => new()
    {
        Architecture = "arm64",
        Variant = "v8",
        Created = s_created,
        Environment = ["PATH=/usr/bin:/bin"],
        Labels = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" },
        DiffIds = [_layer.DiffId],
        History = [new ImageHistoryStep("DockerToVms: base root filesystem")],
    };

    private ImageArchive Archive() => new(Config(), [_layer], ["myapp-base:0123456789ab"]);

    private static Dictionary<string, (TarEntry Entry, byte[] Content)> Read(ImageArchive archive,
        List<string>? order = null)
    {
        using var buffer = new MemoryStream();
        archive.WriteTo(buffer);
        buffer.Position = 0;
        using var reader = new TarReader(buffer);
        var entries = new Dictionary<string, (TarEntry, byte[])>(StringComparer.Ordinal);
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            using var content = new MemoryStream();
            entry.DataStream?.CopyTo(content);
            entries[entry.Name] = (entry, content.ToArray());
            order?.Add(entry.Name);
        }

        return entries;
    }

    private static string Digest(byte[] bytes) =>
        "sha256:" + Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    private static JsonElement Json(byte[] content) => JsonDocument.Parse(content).RootElement;

    [TestMethod]
    public void The_config_names_architecture_variant_os_layers_history_and_settings()
    {
        var config = Json(Config().ToJson());

        Assert.AreEqual("arm64", config.GetProperty("architecture").GetString());
        Assert.AreEqual("v8", config.GetProperty("variant").GetString());
        Assert.AreEqual("linux", config.GetProperty("os").GetString());
        Assert.AreEqual("2025-08-09T10:11:12Z", config.GetProperty("created").GetString());
        var rootfs = config.GetProperty("rootfs");
        Assert.AreEqual("layers", rootfs.GetProperty("type").GetString());
        Expect.Sequence(rootfs.GetProperty("diff_ids").EnumerateArray().Select(d => d.GetString()),
            _layer.DiffId);
        var history = config.GetProperty("history").EnumerateArray().Single();
        Assert.AreEqual("DockerToVms: base root filesystem",
            history.GetProperty("created_by").GetString());
        Assert.AreEqual("2025-08-09T10:11:12Z", history.GetProperty("created").GetString());
        var settings = config.GetProperty("config");
        Expect.Sequence(settings.GetProperty("Env").EnumerateArray().Select(e => e.GetString()),
            "PATH=/usr/bin:/bin");
        Expect.Sequence(settings.GetProperty("Labels").EnumerateObject().Select(l => l.Name),
            "a", "b");
    }

    [TestMethod]
    public void A_platform_without_variant_writes_none()
    {
        var config = Json((Config() with { Architecture = "amd64", Variant = null }).ToJson());

        Assert.AreEqual("amd64", config.GetProperty("architecture").GetString());
        Assert.IsFalse(config.TryGetProperty("variant", out _));
    }

    [TestMethod]
    public void The_docker_manifest_names_the_config_tags_and_layers_stored_in_the_archive()
    {
        var archive = Archive();
        var entries = Read(archive);

        var manifest = Json(entries["manifest.json"].Content).EnumerateArray().Single();
        var configPath = manifest.GetProperty("Config").GetString()!;
        Expect.Sequence(manifest.GetProperty("RepoTags").EnumerateArray().Select(t => t.GetString()),
            "myapp-base:0123456789ab");
        var layerPath = manifest.GetProperty("Layers").EnumerateArray().Single().GetString()!;

        CollectionAssert.AreEqual(Config().ToJson(), entries[configPath].Content);
        CollectionAssert.AreEqual(_layerBytes, entries[layerPath].Content);
        Assert.AreEqual("blobs/sha256/" + _layer.DiffId["sha256:".Length..], layerPath);
    }

    [TestMethod]
    public void The_image_id_is_the_digest_of_the_config_and_names_its_blob()
    {
        var archive = Archive();
        var entries = Read(archive);

        Assert.AreEqual(Digest(Config().ToJson()), archive.ImageId);
        Assert.IsTrue(entries.ContainsKey(ImageArchive.BlobPath(archive.ImageId)));
    }

    [TestMethod]
    public void Every_blob_is_stored_under_its_own_digest()
    {
        var blobs = Read(Archive())
            .Where(e => e.Key.StartsWith("blobs/sha256/", StringComparison.Ordinal)
                && e.Value.Entry.EntryType == TarEntryType.RegularFile)
            .ToList();

        Assert.HasCount(3, blobs, "config, layer and image manifest");
        foreach (var (name, (_, content)) in blobs)
        {
            Assert.AreEqual("sha256:" + name["blobs/sha256/".Length..], Digest(content), name);
        }
    }

    [TestMethod]
    public void The_oci_index_points_at_the_manifest_with_platform_and_names()
    {
        var archive = Archive();
        var entries = Read(archive);

        Assert.AreEqual("1.0.0", Json(entries["oci-layout"].Content)
            .GetProperty("imageLayoutVersion").GetString());
        var index = Json(entries["index.json"].Content);
        Assert.AreEqual(2, index.GetProperty("schemaVersion").GetInt32());
        var descriptor = index.GetProperty("manifests").EnumerateArray().Single();
        Assert.AreEqual(archive.ManifestDigest, descriptor.GetProperty("digest").GetString());
        var platform = descriptor.GetProperty("platform");
        Assert.AreEqual("arm64", platform.GetProperty("architecture").GetString());
        Assert.AreEqual("v8", platform.GetProperty("variant").GetString());
        Assert.AreEqual("linux", platform.GetProperty("os").GetString());
        var annotations = descriptor.GetProperty("annotations");
        Assert.AreEqual("docker.io/library/myapp-base:0123456789ab",
            annotations.GetProperty("io.containerd.image.name").GetString());
        Assert.AreEqual("0123456789ab",
            annotations.GetProperty("org.opencontainers.image.ref.name").GetString());

        var manifest = Json(entries[ImageArchive.BlobPath(archive.ManifestDigest)].Content);
        Assert.AreEqual(archive.ImageId, manifest.GetProperty("config").GetProperty("digest")
            .GetString());
        var layer = manifest.GetProperty("layers").EnumerateArray().Single();
        Assert.AreEqual(_layer.DiffId, layer.GetProperty("digest").GetString());
        Assert.AreEqual(_layerBytes.Length, layer.GetProperty("size").GetInt64());
        Assert.AreEqual(ImageArchive.LayerMediaType, layer.GetProperty("mediaType").GetString());
    }

    [TestMethod]
    public void Entries_are_in_name_order_owned_by_root_without_names_and_dated_at_creation()
    {
        var order = new List<string>();
        var entries = Read(Archive(), order);

        CollectionAssert.AreEqual(order.Order(StringComparer.Ordinal).ToList(), order);
        foreach (var (name, (entry, _)) in entries)
        {
            Assert.AreEqual(0, entry.Uid, name);
            Assert.AreEqual(0, entry.Gid, name);
            Assert.AreEqual(string.Empty, ((PosixTarEntry)entry).UserName, name);
            Assert.AreEqual(string.Empty, ((PosixTarEntry)entry).GroupName, name);
            Assert.AreEqual(s_created, entry.ModificationTime, name);
        }
    }

    [TestMethod]
    public void The_same_image_gives_the_same_bytes()
    {
        using var first = new MemoryStream();
        using var second = new MemoryStream();

        Archive().WriteTo(first);
        Archive().WriteTo(second);

        CollectionAssert.AreEqual(first.ToArray(), second.ToArray());
    }

    [TestMethod]
    public void A_config_that_does_not_name_the_layers_is_refused()
    {
        Assert.ThrowsExactly<ArgumentException>(() =>
            new ImageArchive(Config() with { DiffIds = ["sha256:" + new string('0', 64)] },
                [_layer], ["myapp:1"]));
    }

    [TestMethod]
    public void Names_without_a_registry_are_on_docker_hub()
    {
        Assert.AreEqual("docker.io/library/myapp:1", ImageArchive.FullName("myapp:1"));
        Assert.AreEqual("docker.io/team/myapp:1", ImageArchive.FullName("team/myapp:1"));
        Assert.AreEqual("registry.example:5000/team/myapp:1",
            ImageArchive.FullName("registry.example:5000/team/myapp:1"));
        Assert.AreEqual("localhost/myapp:1", ImageArchive.FullName("localhost/myapp:1"));
    }
}
