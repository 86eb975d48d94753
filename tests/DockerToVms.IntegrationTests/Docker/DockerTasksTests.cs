using DockerToVms.EndToEndTests.Infrastructure;
using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;
using TaskItem = Microsoft.Build.Utilities.TaskItem;

namespace DockerToVms.IntegrationTests.Docker;

[TestClass]
public sealed class DockerTasksTests
{
    private static readonly string s_repository = "dtv-it-" + Guid.NewGuid().ToString("N")[..8];
    private static TemporaryRootfs? s_rootfs;

    [ClassInitialize]
    public static async Task TrimACopy(TestContext context)
    {
        s_rootfs = await SharedRootfs.CopyAsync();
        RootfsTrimmer.Trim(s_rootfs.Directory, TrimLevel.Slim);
    }

    [ClassCleanup]
    public static async Task RemoveImagesAndCopy()
    {
        // Whatever the build machine left in the images fails the class once they are gone.
        var made = await Tool.RunAsync("docker", "images", "-q", "--filter",
            $"reference={s_repository}*");
        var leaks = await ImageLeaks.FindAsync(
            [.. made.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct()],
            [Path.GetDirectoryName(s_rootfs!.Directory)!]);

        // An image with children cannot go before them; a few passes remove every layer.
        for (var pass = 0; pass < 5; pass++)
        {
            var images = await Tool.RunAsync("docker", "images", "-q", "--filter",
                $"reference={s_repository}*");
            foreach (var id in images.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Distinct())
            {
                await Tool.TryRunAsync("docker", "rmi", "-f", id);
            }
        }

        s_rootfs?.Dispose();
        Assert.IsEmpty(leaks, string.Join('\n', leaks));
    }

    [TestMethod]
    public async Task I_can_import_a_root_filesystem_and_run_it()
    {
        var (id, imported) = Import("import", "digest-a");

        Assert.IsTrue(imported);
        StringAssert.StartsWith(id, "sha256:");
        var output = await Tool.RunAsync("docker", "run", "--rm", "--pull", "never",
            "--network", "none", $"{s_repository}-base:import", "cat", "/etc/os-release");
        StringAssert.Contains(output, "trixie");
        var label = await Tool.RunAsync("docker", "image", "inspect", "--format",
            $"{{{{index .Config.Labels \"{ImageLabels.Recipe}\"}}}}", id);
        Assert.AreEqual("digest-a", label.Trim());
    }

    [TestMethod]
    public void The_same_recipe_is_imported_once()
    {
        var (first, _) = Import("once", "digest-b");

        var (second, imported) = Import("once", "digest-b");

        Assert.IsFalse(imported);
        Assert.AreEqual(first, second);
    }

    [TestMethod]
    public void No_daemon_at_the_address_is_a_clear_error()
    {
        var engine = new RecordingBuildEngine();

        var succeeded = new DockerImportTask
        {
            BuildEngine = engine,
            RootDirectory = s_rootfs!.Directory,
            Repository = s_repository + "-base",
            Tag = "nodaemon",
            DockerHost = "unix:///tmp/dtv-no-daemon-here.sock",
        }.Execute();

        Assert.IsFalse(succeeded);
        CollectionAssert.AreEqual(new[] { "DTV3001" }, engine.ErrorCodes.ToArray(), engine.Log);
    }

    [TestMethod]
    public async Task I_can_put_an_app_on_top_as_its_own_layer_with_its_settings()
    {
        var (baseId, _) = Import("app", "digest-c");
        var publish = Directory.CreateTempSubdirectory("dtv-it-publish-");
        try
        {
            var program = Path.Combine(publish.FullName, "hello");
            await File.WriteAllTextAsync(program,
                "#!/bin/sh\necho \"hello $GREETING from $(pwd) as $(id -u) with $*\"\n");
            File.SetUnixFileMode(program, (UnixFileMode)0b111_101_101);

            var (appId, built) = AddApp(baseId, publish.FullName);
            var (sameId, rebuilt) = AddApp(baseId, publish.FullName);

            Assert.IsTrue(built);
            Assert.IsFalse(rebuilt, "an unchanged app is not committed again");
            Assert.AreEqual(appId, sameId);
            var output = await Tool.RunAsync("docker", "run", "--rm", "--pull", "never",
                "--network", "none", $"{s_repository}:1.0");
            Assert.AreEqual("hello world from /srv/app as 1000 with --default", output.Trim());

            var baseLayers = await Layers(baseId);
            var appLayers = await Layers(appId);
            Assert.HasCount(baseLayers.Length + 1, appLayers);
            CollectionAssert.AreEqual(baseLayers, appLayers[..baseLayers.Length]);
            var ports = await Tool.RunAsync("docker", "image", "inspect", "--format",
                "{{json .Config.ExposedPorts}}", appId);
            StringAssert.Contains(ports, "8080/tcp");
            var second = await Tool.RunAsync("docker", "image", "inspect", "--format",
                "{{.Id}}", $"{s_repository}:second");
            Assert.AreEqual(appId, second.Trim(), "every tag names the same image");
        }
        finally
        {
            publish.Delete(recursive: true);
        }
    }

    private static (string Id, bool Imported) Import(string tag, string digest)
    {
        var engine = new RecordingBuildEngine();
        var task = new DockerImportTask
        {
            BuildEngine = engine,
            RootDirectory = s_rootfs!.Directory,
            Repository = s_repository + "-base",
            Tag = tag,
            RecipeDigest = digest,
        };
        Assert.IsTrue(task.Execute(), engine.Log);
        return (task.ImageId, task.Imported);
    }

    private static (string Id, bool Built) AddApp(string baseId, string publish)
    {
        var engine = new RecordingBuildEngine();
        var task = new DockerAppLayerTask
        {
            BuildEngine = engine,
            BaseImage = baseId,
            PublishDirectory = publish,
            Repository = s_repository,
            Tags = ["1.0", "second"],
            WorkingDirectory = "/srv/app",
            User = "1000",
            Entrypoint = [new TaskItem("/srv/app/hello")],
            Cmd = [new TaskItem("--default")],
            EnvironmentVariables = [new TaskItem("GREETING",
                new Dictionary<string, string> { ["Value"] = "world" })],
            Ports = [new TaskItem("8080")],
        };
        Assert.IsTrue(task.Execute(), engine.Log);
        return (task.ImageId, task.Built);
    }

    private static async Task<string[]> Layers(string image)
    {
        var text = await Tool.RunAsync("docker", "image", "inspect", "--format",
            "{{range .RootFS.Layers}}{{println .}}{{end}}", image);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
