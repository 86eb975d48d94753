using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Export;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Sbom;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Verify;
using TaskItem = Microsoft.Build.Utilities.TaskItem;

namespace DockerToVms.IntegrationTests.Export;

/// <summary>
/// With the real Docker daemon: an image's files come back out as a root filesystem (from
/// the daemon or from a saved archive), checks run in an image, the SBOM matches what dpkg
/// says, and an offline recipe's commands see no network. No container is left behind.
/// </summary>
[TestClass]
public sealed class ExportAndCheckTests
{
    private static readonly string s_repository = "dtv-it-export-" + Guid.NewGuid().ToString("N")[..8];
    private static TemporaryRootfs? s_source;
    private static string s_image = string.Empty;

    [ClassInitialize]
    public static async Task ImportASlimCopy(TestContext context)
    {
        s_source = await SharedRootfs.CopyAsync();
        RootfsTrimmer.Trim(s_source.Directory, TrimLevel.Slim);
        var engine = new RecordingBuildEngine();
        var import = new DockerImportTask
        {
            BuildEngine = engine,
            RootDirectory = s_source.Directory,
            Repository = s_repository,
            Tag = "source",
        };
        Assert.IsTrue(import.Execute(), engine.Log);
        s_image = import.ImageId;
    }

    [ClassCleanup]
    public static async Task RemoveImagesAndCopies()
    {
        for (var pass = 0; pass < 3; pass++)
        {
            var images = await Tool.RunAsync("docker", "images", "-q", "--filter",
                $"reference={s_repository}*");
            foreach (var id in images.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct())
            {
                await Tool.TryRunAsync("docker", "rmi", "-f", id);
            }
        }

        s_source?.Dispose();
    }

    [TestCleanup]
    public async Task NoContainerIsLeft()
    {
        foreach (var label in new[] { DockerExportTask.ContainerLabel, RunImageChecksTask.ContainerLabel })
        {
            var left = await Tool.RunAsync("docker", "ps", "-aq", "--filter", "label=" + label);
            Assert.AreEqual(string.Empty, left.Trim(), $"containers labelled {label} were left");
        }
    }

    [TestMethod]
    public async Task I_can_export_an_image_into_a_root_filesystem_with_its_owners_and_modes()
    {
        using var target = new TemporaryRootfs();

        var (succeeded, engine) = Export(s_repository + ":source", target.Directory);

        Assert.IsTrue(succeeded, engine.Log);
        var missing = (await Listing(s_source!.Directory)).Except(await Listing(target.Directory)).ToList();
        Assert.IsEmpty(missing, "not exported: " + string.Join(", ", missing.Take(20)));
        Assert.AreEqual(await Stat(s_source.Directory, "etc/shadow"),
            await Stat(target.Directory, "etc/shadow"), "owner, group and mode are kept");
        Assert.AreEqual(await Stat(s_source.Directory, "usr/bin/su"),
            await Stat(target.Directory, "usr/bin/su"), "set-user-ID is kept");
        Assert.IsFalse(File.Exists(Path.Combine(target.Directory, ".dockerenv")));
    }

    [TestMethod]
    public async Task I_can_start_from_a_saved_archive_and_the_daemon_is_left_as_it_was()
    {
        var folder = Directory.CreateTempSubdirectory("dtv-it-archive-").FullName;
        using var target = new TemporaryRootfs();
        try
        {
            // An image of its own, so that removing it touches no other test's image.
            await Tool.RunAsync("docker", "tag", s_image, s_repository + ":archived");
            var archive = Path.Combine(folder, "image.tar");
            await Tool.RunAsync("docker", "save", "-o", archive, s_repository + ":archived");
            await Tool.RunAsync("docker", "rmi", s_repository + ":archived");
            await Tool.RunAsync("docker", "rmi", s_repository + ":source");

            var (succeeded, engine) = Export(archive, target.Directory);

            Assert.IsTrue(succeeded, engine.Log);
            Assert.IsTrue(File.Exists(Path.Combine(target.Directory, "etc/os-release")));
            var (inspected, _) = await Tool.TryRunAsync("docker", "image", "inspect", s_image);
            Assert.AreNotEqual(0, inspected, "the loaded image is removed again");
            Assert.AreEqual(string.Empty, (await Tool.RunAsync("docker", "images", "-q",
                s_repository + ":archived")).Trim(), "the archive's tag is not given out");
            Assert.IsEmpty(Directory.GetFiles(Path.GetDirectoryName(target.Directory)!, "*.tar"),
                "the untagged copy is removed");
        }
        finally
        {
            // Put the shared image back for the other tests.
            await Tool.TryRunAsync("docker", "load", "-i", Path.Combine(folder, "image.tar"));
            await Tool.TryRunAsync("docker", "tag", s_image, s_repository + ":source");
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void An_image_the_daemon_does_not_have_is_never_pulled()
    {
        using var target = new TemporaryRootfs();

        var (succeeded, engine) = Export("dtv-it-no-such-image:1", target.Directory);

        Assert.IsFalse(succeeded);
        CollectionAssert.AreEqual(new[] { "DTV6011" }, engine.ErrorCodes.ToArray(), engine.Log);
        Assert.IsEmpty(Directory.EnumerateFileSystemEntries(target.Directory));
    }

    [TestMethod]
    public void Every_failing_check_is_reported_and_passing_ones_are_not()
    {
        var engine = new RecordingBuildEngine();
        var task = new RunImageChecksTask
        {
            BuildEngine = engine,
            Image = s_image,
            ImageName = s_repository + ":source",
            Checks =
            [
                Check("cat /etc/os-release", ("ExpectedOutput", "trixie")),
                Check("grep -q ^app: /etc/passwd", ("ExpectedExitCode", "1")),
                Check("false"),
                Check("cat /etc/hostname", ("ExpectedOutput", "no such text")),
                Check("no-such-tool --version"),
                Check("no-such-tool --version && echo found"),
                Check("sleep 20", ("Timeout", "1")),
            ],
        };

        Assert.IsFalse(task.Execute());

        CollectionAssert.AreEqual(new[] { "DTV6030", "DTV6031", "DTV6032", "DTV6032", "DTV6033" },
            engine.ErrorCodes.ToArray(), engine.Log);
        Assert.AreEqual(2, task.Passed, engine.Log);
        StringAssert.Contains(engine.Errors[0].Message, "'false'");
        StringAssert.Contains(engine.Errors[0].Message, s_repository + ":source");
        StringAssert.Contains(engine.Errors[2].Message, "executable file not found");
    }

    [TestMethod]
    public void Passed_checks_on_an_unchanged_image_are_not_run_again()
    {
        var stamp = Path.Combine(Path.GetTempPath(), "dtv-it-stamp-" + Guid.NewGuid().ToString("N"));
        try
        {
            RunImageChecksTask Task(RecordingBuildEngine engine) => new()
            {
                BuildEngine = engine,
                Image = s_image,
                Checks = [Check("test -e /etc/os-release")],
                StampFile = stamp,
            };

            var first = new RecordingBuildEngine();
            Assert.IsTrue(Task(first).Execute(), first.Log);
            var second = new RecordingBuildEngine();
            var again = Task(second);
            Assert.IsTrue(again.Execute(), second.Log);

            Assert.AreEqual(0, again.Passed, "nothing ran the second time");
            StringAssert.Contains(second.Log, "not run again");
        }
        finally
        {
            File.Delete(stamp);
        }
    }

    [TestMethod]
    public async Task The_sbom_lists_the_packages_dpkg_reports()
    {
        var output = Path.Combine(Path.GetTempPath(), $"dtv-it-{Guid.NewGuid():N}.cdx.json");
        try
        {
            var engine = new RecordingBuildEngine();
            var task = new WriteSbomTask
            {
                BuildEngine = engine,
                RootDirectory = SharedRootfs.Directory,
                OutputFile = output,
                Repository = s_repository,
            };
            Assert.IsTrue(task.Execute(), engine.Log);

            var dpkg = await Tool.RunAsync("dpkg-query",
                "--admindir=" + Path.Combine(SharedRootfs.Directory, "var/lib/dpkg"), "-W",
                "-f=${db:Status-Status} ${Package} ${Version} ${Architecture}\n");
            var expected = dpkg.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => l.StartsWith("installed ", StringComparison.Ordinal))
                .Select(l => l["installed ".Length..]).Order(StringComparer.Ordinal).ToList();
            var listed = DpkgStatus.Read(SharedRootfs.Directory)
                .Select(p => $"{p.Name} {p.Version} {p.Architecture}")
                .Order(StringComparer.Ordinal).ToList();
            CollectionAssert.AreEqual(expected, listed);
            var text = await File.ReadAllTextAsync(output);
            StringAssert.Contains(text, "\"pkg:deb/debian/dpkg@");
            Assert.AreEqual(expected.Count, task.PackageCount);
        }
        finally
        {
            File.Delete(output);
        }
    }

    [TestMethod]
    public async Task Commands_of_an_offline_recipe_see_no_network()
    {
        using var copy = await SharedRootfs.CopyAsync();
        var engine = new RecordingBuildEngine();

        var succeeded = new ChrootExecTask
        {
            BuildEngine = engine,
            RootDirectory = copy.Directory,
            Offline = true,
            Commands = [new TaskItem("x", new Dictionary<string, string>
            {
                ["Command"] = "ls /sys/class/net > /network-devices",
            })],
        }.Execute();

        Assert.IsTrue(succeeded, engine.Log);
        Assert.AreEqual("lo", File.ReadAllText(Path.Combine(copy.Directory, "network-devices")).Trim());
        Assert.IsEmpty(copy.Mounts);
    }

    private static (bool Succeeded, RecordingBuildEngine Engine) Export(string image, string target)
    {
        var engine = new RecordingBuildEngine();
        var task = new DockerExportTask { BuildEngine = engine, Image = image, RootDirectory = target };
        return (task.Execute(), engine);
    }

    private static TaskItem Check(string command, params (string Name, string Value)[] metadata) =>
        new(command, metadata.ToDictionary(m => m.Name, m => m.Value));

    // Every path of the tree, without what the container runtime provides for itself.
    private static async Task<HashSet<string>> Listing(string root)
    {
        var text = await Tool.RunAsync("find", root, "-mindepth", "1", "-printf", "%P\n");
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !p.StartsWith("dev/", StringComparison.Ordinal)
                && !p.StartsWith("proc/", StringComparison.Ordinal)
                && !p.StartsWith("sys/", StringComparison.Ordinal)
                && !p.StartsWith("run/", StringComparison.Ordinal))];
    }

    private static async Task<string> Stat(string root, string path) =>
        (await Tool.RunAsync("stat", "-c", "%u:%g %a %F", Path.Combine(root, path))).Trim();
}
