using System.Text;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Registry;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Registry;

[TestClass]
public sealed class DaemonImageSourceTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-save-");

    public void Dispose() => _folder.Dispose();

    [TestMethod]
    public async Task A_saved_image_becomes_layer_files_and_the_exact_configuration_bytes()
    {
        var layer = _folder.Write("in/layer.tar", "the layer's bytes");
        var digest = OciDigest.Of(Encoding.UTF8.GetBytes("the layer's bytes"));
        var config = new ImageConfig { Architecture = "arm64", DiffIds = [digest] }.ToJson();
        using var archive = new MemoryStream();
        RegistryBaseCache.WriteLoadArchive(archive, config, layer, digest, "app:1");
        archive.Position = 0;
        var work = _folder.CreateFolder("work");

        var image = await DaemonImageSource.ReadAsync(archive, "app:1", work,
            CancellationToken.None);

        CollectionAssert.AreEqual(config, image.ConfigJson.ToArray());
        Assert.HasCount(1, image.Layers);
        Assert.AreEqual(digest, image.Layers[0].Digest);
        Assert.AreEqual(digest, image.Layers[0].DiffId);
        Assert.AreEqual("the layer's bytes", File.ReadAllText(image.Layers[0].Path));
    }

    [TestMethod]
    public void An_archive_without_its_manifest_is_reported()
    {
        using var archive = new MemoryStream(new byte[1024]);

        var e = Assert.ThrowsExactly<DtvException>(() => DaemonImageSource.ReadAsync(archive,
            "app:1", _folder.Path, CancellationToken.None).GetAwaiter().GetResult());

        Assert.AreEqual("DTV3144", e.Code);
    }

    [TestMethod]
    public void A_wrong_registry_setting_is_reported_before_the_build()
    {
        var engine = new RecordingBuildEngine();
        var task = new CheckRegistrySettingsTask
        {
            BuildEngine = engine,
            Registry = "https://registry.example.com/",
            Repository = "Team/App",
        };

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV3134");
    }
}
