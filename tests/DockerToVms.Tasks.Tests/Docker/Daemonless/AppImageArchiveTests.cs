using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using TaskItem = Microsoft.Build.Utilities.TaskItem;

namespace DockerToVms.Tasks.Tests.Docker.Daemonless;

/// <summary>
/// The app image written without a daemon: two layers (the base's files and the app's), a
/// configuration from the image settings with one history step a layer, the archive layout
/// docker load and OCI tools read, and where the archive goes.
/// </summary>
[TestClass]
public sealed class AppImageArchiveTests : IDisposable
{
    private const string Epoch = "1735689600";
    private readonly TemporaryDirectory _folder = new("dtv-appimage-");
    private string _root = string.Empty;
    private string _publish = string.Empty;

    [TestInitialize]
    public void CreateTrees()
    {
        _root = _folder.CreateFolder("rootfs");
        _folder.Write("rootfs/bin/sh", "sh");
        _folder.Write("rootfs/etc/os-release", "ID=debian\n");
        _publish = _folder.CreateFolder("publish");
        _folder.Write("publish/myapp.dll", "dll");
        _folder.Write("publish/myapp", "elf");
    }

    public void Dispose() => _folder.Dispose();

    private WriteImageArchiveTask Task(RecordingBuildEngine engine, string output,
        string epoch = Epoch) => new()
    {
        BuildEngine = engine,
        BaseRootDirectory = _root,
        BaseDigest = "0123456789abcdef",
        RecipeDigest = "recipe-digest",
        Architecture = "arm64",
        PublishDirectory = _publish,
        Repository = "team/myapp",
        Tags = ["1.0", "latest"],
        WorkingDirectory = "/app",
        User = "app",
        Entrypoint = [new TaskItem("/app/myapp")],
        Cmd = [new TaskItem("--serve")],
        EnvironmentVariables = [Item("PATH", "/app:/usr/bin"), Item("MODE", "prod")],
        Ports = [new TaskItem("8080")],
        Labels = [Item("org.opencontainers.image.title", "My app")],
        BaseChanges = ["ENV PATH=/usr/sbin:/usr/bin"],
        ArchiveOutputPath = output,
        SourceDateEpoch = epoch,
        LayerCacheDirectory = _folder.Combine("cache"),
    };

    private static TaskItem Item(string name, string value)
    {
        var item = new TaskItem(name);
        item.SetMetadata("Value", value);
        return item;
    }

    private static Dictionary<string, byte[]> ReadArchive(string path)
    {
        using var file = File.OpenRead(path);
        Stream stream = path.EndsWith(".gz", StringComparison.Ordinal)
            ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new TarReader(stream);
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            using var content = new MemoryStream();
            entry.DataStream?.CopyTo(content);
            entries[entry.Name] = content.ToArray();
        }

        return entries;
    }

    private static JsonElement Json(byte[] bytes) => JsonDocument.Parse(bytes).RootElement;

    private (WriteImageArchiveTask Task, Dictionary<string, byte[]> Entries, JsonElement Config)
        Publish(string output = "out/")
    {
        var engine = new RecordingBuildEngine();
        var task = Task(engine, _folder.Combine(output));
        Assert.IsTrue(task.Execute(), engine.Log);
        var entries = ReadArchive(task.ArchivePath);
        return (task, entries, Json(entries[ImageArchive.BlobPath(task.ImageId)]));
    }

    [TestMethod]
    public void I_get_an_archive_with_a_base_layer_and_an_app_layer()
    {
        var (task, entries, config) = Publish();

        var manifest = Json(entries["manifest.json"]).EnumerateArray().Single();
        Expect.Sequence(manifest.GetProperty("RepoTags").EnumerateArray()
            .Select(t => t.GetString()), "team/myapp:1.0", "team/myapp:latest");
        var layers = manifest.GetProperty("Layers").EnumerateArray()
            .Select(l => l.GetString()!).ToList();
        Assert.HasCount(2, layers);
        var diffIds = config.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray()
            .Select(d => ImageArchive.BlobPath(d.GetString()!)).ToList();
        CollectionAssert.AreEqual(layers, diffIds, "diff_ids name the layers in order");

        var app = LayerNames(entries[layers[1]]);
        CollectionAssert.IsSubsetOf(new[] { "app/", "app/myapp", "app/myapp.dll" }, app);
        CollectionAssert.Contains(LayerNames(entries[layers[0]]), "./etc/os-release");
        Assert.IsTrue(entries.ContainsKey("oci-layout") && entries.ContainsKey("index.json"));
        StringAssert.Contains(LogOf(task), "docker load -i " + task.ArchivePath);
    }

    [TestMethod]
    public void The_config_holds_the_platform_and_every_image_setting()
    {
        var (_, _, config) = Publish();

        Assert.AreEqual("arm64 v8 linux", string.Join(' ',
            config.GetProperty("architecture").GetString(),
            config.GetProperty("variant").GetString(), config.GetProperty("os").GetString()));
        Assert.AreEqual("2025-01-01T00:00:00Z", config.GetProperty("created").GetString());
        var settings = config.GetProperty("config");
        Expect.Sequence(Strings(settings, "Entrypoint"), "/app/myapp");
        Expect.Sequence(Strings(settings, "Cmd"), "--serve");
        Expect.Sequence(Strings(settings, "Env"), "PATH=/app:/usr/bin", "MODE=prod");
        Assert.AreEqual("app", settings.GetProperty("User").GetString());
        Assert.AreEqual("/app", settings.GetProperty("WorkingDir").GetString());
        Assert.IsTrue(settings.GetProperty("ExposedPorts").TryGetProperty("8080/tcp", out _));
        var labels = settings.GetProperty("Labels");
        Assert.AreEqual("My app", labels.GetProperty("org.opencontainers.image.title")
            .GetString());
        Assert.AreEqual("recipe-digest", labels.GetProperty(ImageLabels.Recipe).GetString());
    }

    [TestMethod]
    public void The_history_has_one_step_a_layer_dated_at_SOURCE_DATE_EPOCH()
    {
        var (_, _, config) = Publish();

        var history = config.GetProperty("history").EnumerateArray().ToList();
        var layers = config.GetProperty("rootfs").GetProperty("diff_ids").GetArrayLength();
        Assert.AreEqual(layers, history.Count(h => !h.TryGetProperty("empty_layer", out _)));
        Assert.IsTrue(history.All(h => h.GetProperty("created").GetString()
            == "2025-01-01T00:00:00Z"));
        StringAssert.Contains(history[0].GetProperty("created_by").GetString(), "recipe-digest");
        Assert.IsFalse(history.Any(h => h.ToString().Contains(_folder.Path,
            StringComparison.Ordinal)), "no path of the build machine");
    }

    [TestMethod]
    public void Two_writes_of_the_same_app_give_the_same_archive_bytes_and_digests()
    {
        var first = Publish("first.tar.gz");
        File.SetLastWriteTimeUtc(_folder.Combine("publish/myapp.dll"), DateTime.UtcNow);

        var second = Publish("second.tar.gz");

        Assert.AreEqual(first.Task.ManifestDigest, second.Task.ManifestDigest);
        Assert.AreEqual(first.Task.ImageId, second.Task.ImageId);
        CollectionAssert.AreEqual(File.ReadAllBytes(first.Task.ArchivePath),
            File.ReadAllBytes(second.Task.ArchivePath));
    }

    [TestMethod]
    public void The_base_layer_is_written_once_and_kept_by_its_digest()
    {
        Publish("a.tar");
        var kept = Directory.GetFiles(_folder.Combine("cache/layers"), "*.tar").Single();
        var written = File.GetLastWriteTimeUtc(kept);

        Publish("b.tar");

        Assert.AreEqual(written, File.GetLastWriteTimeUtc(kept));
        StringAssert.Contains(Path.GetFileName(kept), "0123456789abcdef-" + Epoch);
    }

    [TestMethod]
    public void The_gzip_header_has_no_name_and_no_time()
    {
        var (task, _, _) = Publish("image.tar.gz");

        var header = File.ReadAllBytes(task.ArchivePath)[..10];
        Assert.AreEqual((0x1f, 0x8b), (header[0], header[1]));
        Assert.AreEqual(0, header[3] & 0x08, "no file name");
        Assert.AreEqual(0, BitConverter.ToInt32(header, 4), "no time");
    }

    [TestMethod]
    [DataRow("out/image.tar.gz", "out/image.tar.gz", true)]
    [DataRow("out/image.TGZ", "out/image.TGZ", true)]
    [DataRow("out/image.tar", "out/image.tar", false)]
    [DataRow("out", "out/team-myapp.tar.gz", true)]
    [DataRow("out/", "out/team-myapp.tar.gz", true)]
    public void The_archive_path_is_a_file_or_a_directory_as_for_the_NET_SDK(string setting,
        string expected, bool compressed)
    {
        var output = ArchiveOutput.Resolve(_folder.Combine(setting), "team/myapp");

        Assert.AreEqual(_folder.Combine(expected), output.Path);
        Assert.AreEqual(compressed, output.Compressed);
    }

    [TestMethod]
    public void A_path_that_cannot_be_written_is_DTV9060_naming_it()
    {
        _folder.Write("file", "a file, not a directory");
        var engine = new RecordingBuildEngine();

        Assert.IsFalse(Task(engine, _folder.Combine("file/image.tar")).Execute());

        Expect.Codes(engine, "DTV9060");
        StringAssert.Contains(engine.Errors.Single().Message, _folder.Combine("file/image.tar"));
    }

    [TestMethod]
    public void A_failed_write_leaves_no_file_and_keeps_the_previous_archive()
    {
        var output = _folder.Write("out/image.tar", "the previous archive");
        var missing = new LayerFile(_folder.Combine("gone.tar"), "sha256:" + new string('0', 64),
            10);
        var config = new ImageConfig { Architecture = "amd64", DiffIds = [missing.DiffId] };
        var archive = new ImageArchive(config, [missing], ["myapp:latest"]);

        var error = Assert.ThrowsExactly<DtvException>(() =>
            ArchiveOutput.Resolve(output, "myapp").Write(archive,
                CancellationToken.None));

        Assert.AreEqual("DTV3101", error.Code);
        Assert.AreEqual("the previous archive", File.ReadAllText(output));
        CollectionAssert.AreEqual(new[] { output },
            Directory.GetFiles(_folder.Combine("out")));
    }

    [TestMethod]
    [DataRow("tomorrow")]
    [DataRow("-1")]
    public void A_SOURCE_DATE_EPOCH_that_is_not_whole_seconds_is_DTV9061(string epoch)
    {
        var engine = new RecordingBuildEngine();

        Assert.IsFalse(Task(engine, _folder.Combine("out/"), epoch).Execute());

        Expect.Codes(engine, "DTV9061");
        Assert.IsFalse(Directory.Exists(_folder.Combine("out")));
    }

    [TestMethod]
    public void BaseImageCheck_items_are_not_run_on_an_archive_and_a_warning_says_so()
    {
        var engine = new RecordingBuildEngine();
        var task = Task(engine, _folder.Combine("out/"));
        task.SkippedChecks = [new TaskItem("myapp --version")];

        Assert.IsTrue(task.Execute(), engine.Log);

        Expect.Sequence(engine.WarningCodes, "DTV9062");
    }

    private static string LogOf(WriteImageArchiveTask task) =>
        ((RecordingBuildEngine)task.BuildEngine).Log;

    private static IEnumerable<string?> Strings(JsonElement element, string name) =>
        element.GetProperty(name).EnumerateArray().Select(e => e.GetString());

    private static List<string> LayerNames(byte[] layer)
    {
        using var reader = new TarReader(new MemoryStream(layer));
        var names = new List<string>();
        while (reader.GetNextEntry() is { } entry)
        {
            names.Add(entry.Name);
        }

        return names;
    }
}
