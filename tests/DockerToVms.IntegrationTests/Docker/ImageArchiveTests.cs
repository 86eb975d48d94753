using System.Formats.Tar;
using System.Security.Cryptography;
using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.IntegrationTests.Qemu;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using TaskItem = Microsoft.Build.Utilities.TaskItem;

namespace DockerToVms.IntegrationTests.Docker;

/// <summary>
/// Layers packed from a tree that has what a Debian root filesystem has
/// (hard links, devices, set-user-ID programs, file capabilities, numeric owners), and images
/// loaded from archives into the real daemon with the architecture they are for.
/// </summary>
[TestClass]
[TestCategory("Integration")]
public sealed class ImageArchiveTests
{
    private static readonly string s_repository = "dtv-it-arch-" + Guid.NewGuid().ToString("N")[..8];

    // Every image the tests made, by id: one whose tag moved to another image has no name
    // left to be found by.
    private static readonly System.Collections.Concurrent.ConcurrentBag<string> s_images = [];
    private string _work = string.Empty;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void CreateWorkFolder()
    {
        if (!HostTools.IsRoot)
        {
            Assert.Inconclusive("Devices and owners need root.");
        }

        _work = Directory.CreateTempSubdirectory("dtv-it-archive-").FullName;
    }

    [TestCleanup]
    public void RemoveWorkFolder()
    {
        if (_work.Length > 0)
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    [ClassCleanup]
    public static async Task RemoveImages()
    {
        var images = await Tool.RunAsync("docker", "images", "-q", "--filter",
            $"reference={s_repository}*");
        foreach (var id in images.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Concat(s_images).Distinct())
        {
            await Tool.TryRunAsync("docker", "rmi", "-f", id);
        }
    }

    [TestMethod]
    public async Task A_layer_keeps_links_devices_modes_owners_and_capabilities_in_name_order()
    {
        var root = await CreateTreeAsync();
        var capabilities = await Tool.TryRunAsync("setcap", "cap_net_raw+ep",
            Path.Combine(root, "usr/bin/ping"));

        var layer = await WriteLayerAsync(root);
        var entries = ReadEntries(layer.Path);

        var names = entries.Select(e => e.Name).ToList();
        CollectionAssert.AreEqual(names.Order(StringComparer.Ordinal).ToList(), names);
        Assert.AreEqual("sha256:" + Convert.ToHexString(
            SHA256.HashData(File.ReadAllBytes(layer.Path))).ToLowerInvariant(), layer.DiffId);
        Assert.AreEqual(new FileInfo(layer.Path).Length, layer.Size);

        var link = entries.Single(e => e.Name == "./usr/bin/perl5.40");
        Assert.AreEqual(TarEntryType.HardLink, link.EntryType);
        Assert.AreEqual("./usr/bin/perl", link.LinkName);
        Assert.AreEqual(TarEntryType.CharacterDevice,
            entries.Single(e => e.Name == "./srv/null").EntryType);
        Assert.IsTrue(entries.Single(e => e.Name == "./usr/bin/su").Mode
            .HasFlag(UnixFileMode.SetUser), "set-user-ID kept");
        var owned = entries.Single(e => e.Name == "./home/app/notes");
        Assert.AreEqual((1654, 1654), (owned.Uid, owned.Gid));
        Assert.IsTrue(entries.All(e => ((PosixTarEntry)e).UserName.Length == 0
            && ((PosixTarEntry)e).GroupName.Length == 0), "no account names of this machine");

        // The kernel's mount points stay, empty: the runtime mounts its own.
        CollectionAssert.IsSubsetOf(new[] { "./dev/", "./proc/", "./run/", "./sys/" },
            names);
        Assert.IsFalse(names.Any(n => n.StartsWith("./dev/", StringComparison.Ordinal)
            && n.Length > "./dev/".Length), string.Join(", ", names));
        Assert.IsFalse(names.Any(n => n.StartsWith("./proc/1", StringComparison.Ordinal)));

        if (capabilities.ExitCode != 0)
        {
            Assert.Inconclusive("setcap could not mark the file (apt-get install libcap2-bin): "
                + capabilities.Output);
        }

        var ping = (PaxTarEntry)entries.Single(e => e.Name == "./usr/bin/ping");
        Assert.IsTrue(ping.ExtendedAttributes.ContainsKey("SCHILY.xattr.security.capability"),
            string.Join(", ", ping.ExtendedAttributes.Keys));
    }

    [TestMethod]
    public async Task The_same_tree_packs_to_the_same_layer()
    {
        var root = await CreateTreeAsync();

        var first = await WriteLayerAsync(root);
        var second = await WriteLayerAsync(root, "again.tar");

        Assert.AreEqual(first.DiffId, second.DiffId, "access times read in between do not count");
    }

    [TestMethod]
    public async Task An_arm64_root_filesystem_becomes_an_arm64_v8_image_and_its_app_image_too()
    {
        var root = Directory.CreateDirectory(Path.Combine(_work, "arm64")).FullName;
        Aarch64Program.Write(Path.Combine(root, "hello"));

        var (baseId, imported) = Import(root, "arm64", "digest-arm64");

        Assert.IsTrue(imported);
        Assert.AreEqual("arm64 v8 linux", await InspectAsync(baseId,
            "{{.Architecture}} {{.Variant}} {{.Os}}"));
        Assert.AreEqual("digest-arm64", await InspectAsync(baseId,
            $"{{{{index .Config.Labels \"{ImageLabels.Recipe}\"}}}}"));
        StringAssert.Contains(await InspectAsync(baseId, "{{json .Config.Env}}"), "PATH=/usr/bin");

        var publish = Directory.CreateDirectory(Path.Combine(_work, "publish")).FullName;
        await File.WriteAllTextAsync(Path.Combine(publish, "app.txt"), "app");
        var appId = AddApp(baseId, publish);
        Assert.AreEqual("arm64 v8 linux", await InspectAsync(appId,
            "{{.Architecture}} {{.Variant}} {{.Os}}"), "the app layer keeps the platform");
    }

    [TestMethod]
    public void A_base_of_the_same_recipe_for_another_architecture_is_not_reused()
    {
        var root = Directory.CreateDirectory(Path.Combine(_work, "tree")).FullName;
        File.WriteAllText(Path.Combine(root, "marker"), "x");

        var (amd64, _) = Import(root, "amd64", "digest-same");
        var (again, reimported) = Import(root, "amd64", "digest-same");
        var (arm64, armImported) = Import(root, "arm64", "digest-same");

        Assert.IsFalse(reimported);
        Assert.AreEqual(amd64, again);
        Assert.IsTrue(armImported, "an amd64 image under the tag is no arm64 base");
        Assert.AreNotEqual(amd64, arm64);
    }

    // A small tree with the kinds of entries a bootstrapped root filesystem holds.
    private async Task<string> CreateTreeAsync()
    {
        var root = Path.Combine(_work, "tree");
        foreach (var folder in new[] { "usr/bin", "srv", "home/app", "dev", "proc/1", "run", "sys" })
        {
            Directory.CreateDirectory(Path.Combine(root, folder));
        }

        await File.WriteAllTextAsync(Path.Combine(root, "usr/bin/perl"), "perl");
        File.CreateSymbolicLink(Path.Combine(root, "usr/bin/sh"), "dash");
        await File.WriteAllTextAsync(Path.Combine(root, "usr/bin/ping"), "ping");
        await File.WriteAllTextAsync(Path.Combine(root, "usr/bin/su"), "su");
        File.SetUnixFileMode(Path.Combine(root, "usr/bin/su"),
            (UnixFileMode)Convert.ToInt32("4755", 8));
        await File.WriteAllTextAsync(Path.Combine(root, "home/app/notes"), "notes");
        await File.WriteAllTextAsync(Path.Combine(root, "proc/1/status"), "not a real proc");
        await Tool.RunAsync("ln", Path.Combine(root, "usr/bin/perl"),
            Path.Combine(root, "usr/bin/perl5.40"));
        await Tool.RunAsync("mknod", Path.Combine(root, "srv/null"), "c", "1", "3");
        await Tool.RunAsync("mknod", Path.Combine(root, "dev/console"), "c", "5", "1");
        await Tool.RunAsync("chown", "1654:1654", Path.Combine(root, "home/app/notes"));
        return root;
    }

    private async Task<LayerFile> WriteLayerAsync(string root, string name = "layer.tar")
    {
        var layer = await LayerWriter.WriteFileAsync(root, Path.Combine(_work, name),
            CancellationToken.None);
        TestContext.WriteLine($"{layer.DiffId} {layer.Size}");
        return layer;
    }

    private static List<TarEntry> ReadEntries(string path)
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

    private static (string Id, bool Imported) Import(string root, string architecture,
        string digest)
    {
        var engine = new RecordingBuildEngine();
        var task = new DockerImportTask
        {
            BuildEngine = engine,
            RootDirectory = root,
            Repository = s_repository + "-base",
            Tag = "t" + digest,
            RecipeDigest = digest,
            Architecture = architecture,
            Changes = ["ENV PATH=/usr/bin:/bin"],
        };
        Assert.IsTrue(task.Execute(), engine.Log);
        s_images.Add(task.ImageId);
        return (task.ImageId, task.Imported);
    }

    private static string AddApp(string baseId, string publish)
    {
        var engine = new RecordingBuildEngine();
        var task = new DockerAppLayerTask
        {
            BuildEngine = engine,
            BaseImage = baseId,
            PublishDirectory = publish,
            Repository = s_repository,
            Tag = "app",
            Entrypoint = [new TaskItem("/hello")],
        };
        Assert.IsTrue(task.Execute(), engine.Log);
        s_images.Add(task.ImageId);
        return task.ImageId;
    }

    private static async Task<string> InspectAsync(string image, string format) =>
        (await Tool.RunAsync("docker", "image", "inspect", "--format", format, image)).Trim();
}
