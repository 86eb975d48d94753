using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Registry;
using DockerToVms.Tasks.Tests.Infrastructure;
using TaskItem = Microsoft.Build.Utilities.TaskItem;

namespace DockerToVms.Tasks.Tests.Registry;

/// <summary>
/// Pushing the image the archive step wrote, from the files it kept: no daemon is asked, and
/// the registry gets the archive's configuration and manifest, byte for byte.
/// </summary>
[TestClass]
public sealed class ComposedImagePushTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-composed-push-");

    public void Dispose() => _folder.Dispose();

    // Writes a small image as an archive, keeping its files in "image".
    private WriteImageArchiveTask WriteArchive(RecordingBuildEngine engine)
    {
        _folder.Write("rootfs/bin/sh", "sh");
        _folder.Write("rootfs/etc/os-release", "ID=debian\n");
        _folder.Write("publish/myapp.dll", "dll");
        var task = new WriteImageArchiveTask
        {
            BuildEngine = engine,
            BaseRootDirectory = _folder.Combine("rootfs"),
            BaseDigest = "0123456789abcdef",
            Architecture = "amd64",
            PublishDirectory = _folder.Combine("publish"),
            Repository = "team/myapp",
            Tags = ["latest"],
            WorkingDirectory = "/app",
            Entrypoint = [new TaskItem("/app/myapp")],
            ArchiveOutputPath = _folder.Combine("out/myapp.tar"),
            SourceDateEpoch = "1735689600",
            LayerCacheDirectory = _folder.Combine("cache"),
            ImageDirectory = _folder.Combine("image"),
        };
        Assert.IsTrue(task.Execute(), engine.Log);
        return task;
    }

    private PushImageTask Push(RecordingBuildEngine engine, FakeRegistry registry,
        WriteImageArchiveTask archive) => new()
    {
        BuildEngine = engine,
        Registry = FakeRegistry.Host,
        Repository = "team/myapp",
        Tags = ["latest"],
        ConfigFile = archive.ConfigFile,
        Layers = archive.Layers,
        // Nothing listens here: the push must not need a daemon.
        DockerHost = "unix://" + _folder.Combine("docker.sock"),
        Handler = registry,
        Credentials = new RegistryCredentials(_ => null,
            (_, _, _) => Task.FromResult<string?>(null)),
    };

    [TestMethod]
    public void The_archive_step_keeps_the_layers_and_configuration_it_wrote()
    {
        var archive = WriteArchive(new RecordingBuildEngine());

        Assert.HasCount(2, archive.Layers);
        var layers = ImageFileItems.FromItems(archive.Layers);
        Assert.IsTrue(layers.All(l =>
            File.Exists(l.Path) && new FileInfo(l.Path).Length == l.Size));
        StringAssert.StartsWith(layers[0].Path, _folder.Combine("cache"),
            "the base's layer is the one kept in the layer cache");
        StringAssert.StartsWith(layers[1].Path, _folder.Combine("image"));
        Assert.AreEqual(archive.ImageId, OciDigest.Of(File.ReadAllBytes(archive.ConfigFile)));
    }

    [TestMethod]
    public void Without_a_folder_to_keep_them_in_nothing_is_kept()
    {
        var engine = new RecordingBuildEngine();
        var archive = WriteArchive(engine);
        var again = new WriteImageArchiveTask
        {
            BuildEngine = engine,
            BaseRootDirectory = _folder.Combine("rootfs"),
            Architecture = "amd64",
            PublishDirectory = _folder.Combine("publish"),
            Repository = "team/myapp",
            WorkingDirectory = "/app",
            ArchiveOutputPath = _folder.Combine("out/other.tar"),
        };

        Assert.IsTrue(again.Execute(), engine.Log);

        Assert.IsEmpty(again.Layers);
        Assert.AreEqual(string.Empty, again.ConfigFile);
        Assert.IsNotEmpty(archive.Layers);
    }

    [TestMethod]
    public void I_can_push_the_archived_image_without_a_daemon_and_get_the_archives_manifest()
    {
        var engine = new RecordingBuildEngine();
        var archive = WriteArchive(engine);
        using var registry = new FakeRegistry();
        var push = Push(engine, registry, archive);

        Assert.IsTrue(push.Execute(), engine.Log);

        Assert.AreEqual(archive.ManifestDigest, push.ManifestDigest);
        var (_, json) = registry.Manifests[("team/myapp", "latest")];
        Assert.AreEqual(archive.ManifestDigest, OciDigest.Of(json));
        Assert.IsTrue(registry.Blobs.ContainsKey(("team/myapp", archive.ImageId)));
    }

    [TestMethod]
    public void A_layer_that_changed_after_the_archive_was_written_is_not_pushed()
    {
        var engine = new RecordingBuildEngine();
        var archive = WriteArchive(engine);
        File.AppendAllText(archive.Layers[1].ItemSpec, "more");
        using var registry = new FakeRegistry();

        Assert.IsFalse(Push(engine, registry, archive).Execute());

        Expect.Sequence(engine.ErrorCodes, ["DTV3150"]);
        Assert.IsEmpty(registry.Requests, "nothing is sent");
    }

    [TestMethod]
    public void A_configuration_that_names_other_layers_is_not_pushed()
    {
        var engine = new RecordingBuildEngine();
        var archive = WriteArchive(engine);
        archive.Layers[1].SetMetadata(ImageFileItems.DiffIdMetadata, OciDigest.Of("other"u8));
        using var registry = new FakeRegistry();

        Assert.IsFalse(Push(engine, registry, archive).Execute());

        Expect.Sequence(engine.ErrorCodes, ["DTV3150"]);
    }

    [TestMethod]
    public async Task The_manifest_of_a_push_is_the_bytes_the_archive_holds()
    {
        var archive = WriteArchive(new RecordingBuildEngine());
        var image = await ComposedImageSource.ReadAsync(archive.ConfigFile,
            ImageFileItems.FromItems(archive.Layers), CancellationToken.None);

        var pushed = ImageManifest.For(image, ManifestFormat.Oci).ToJson();

        Assert.AreEqual(archive.ManifestDigest, OciDigest.Of(pushed));
    }
}
