using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;
using TaskItem = Microsoft.Build.Utilities.TaskItem;

namespace DockerToVms.IntegrationTests.AppTrim;

/// <summary>
/// Deriving an app-level root filesystem from a real bootstrapped Debian with the real tar,
/// and checking with that Debian's own loader that a program finds every library in it.
/// </summary>
[TestClass]
public sealed class DeriveAppRootfsTaskTests
{
    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task A_derived_root_filesystem_holds_what_a_program_needs_and_the_loader_agrees()
    {
        var source = await SharedRootfs.GetAsync();
        var work = Directory.CreateTempSubdirectory("dtv-it-derive-").FullName;
        try
        {
            var publish = Directory.CreateDirectory(Path.Combine(work, "publish")).FullName;
            File.Copy(Path.Combine(source, "usr/bin/ls"), Path.Combine(publish, "app"));
            var cache = Path.Combine(work, "cache");

            var (first, firstLog) = await DeriveAsync(source, publish, cache);
            var (second, secondLog) = await DeriveAsync(source, publish, cache);

            Assert.IsTrue(first.Built, firstLog);
            Assert.IsFalse(second.Built, "the same files are not copied twice\n" + secondLog);
            Assert.AreEqual(first.Digest, second.Digest);
            var root = first.RootDirectory;
            Assert.IsFalse(File.Exists(Path.Combine(root, "usr/bin/dash")), "no shell");
            Assert.IsTrue(File.Exists(Path.Combine(root, "etc/os-release")));
            Assert.IsTrue(File.Exists(Path.Combine(root, "usr/share/doc/libc6/copyright")));
            Assert.AreEqual("root:x:0:0:root:/root:/bin/bash\n",
                await File.ReadAllTextAsync(Path.Combine(root, "etc/passwd")));
            var status = await File.ReadAllTextAsync(Path.Combine(root, "var/lib/dpkg/status"));
            StringAssert.Contains(status, "Package: libselinux1\n");
            Assert.IsFalse(status.Contains("Package: dash\n", StringComparison.Ordinal), status);
            Assert.AreEqual(UnixFileMode.StickyBit, File.GetUnixFileMode(Path.Combine(root, "tmp"))
                & UnixFileMode.StickyBit, "/tmp stays writable for everyone");

            // The app goes where its layer would put it; the image's own loader resolves it.
            Directory.CreateDirectory(Path.Combine(root, "app"));
            File.Copy(Path.Combine(publish, "app"), Path.Combine(root, "app/app"));
            var loader = ElfObject.TryRead(Path.Combine(publish, "app"))!.Interpreter!;
            var libraries = await Tool.RunAsync("chroot", root, loader, "--list", "/app/app");
            Assert.IsFalse(libraries.Contains("not found", StringComparison.Ordinal), libraries);
            StringAssert.Contains(libraries, "libselinux.so.1");
            StringAssert.Contains(await Tool.RunAsync("chroot", root, "/app/app", "/etc"),
                "os-release");
        }
        finally
        {
            RootfsCache.Discard(work);
        }
    }

    [TestMethod]
    public async Task A_kept_file_that_does_not_exist_fails_with_DTV9020()
    {
        var source = await SharedRootfs.GetAsync();
        var work = Directory.CreateTempSubdirectory("dtv-it-derive-").FullName;
        try
        {
            var engine = new RecordingBuildEngine();
            var task = new DeriveAppRootfsTask
            {
                BuildEngine = engine,
                CacheDirectory = Path.Combine(work, "cache"),
                BaseDigest = "0123456789abcdef",
                BaseRootDirectory = source,
                PublishDirectory = Directory.CreateDirectory(Path.Combine(work, "p")).FullName,
                InvariantGlobalization = true,
                KeepFiles = [new TaskItem("/etc/no-such.conf")],
            };

            Assert.IsFalse(task.Execute());

            CollectionAssert.AreEqual(new[] { "DTV9020" }, engine.ErrorCodes.ToList(), engine.Log);
            Assert.IsFalse(Directory.Exists(Path.Combine(work, "cache", "app", "rootfs"))
                && Directory.EnumerateDirectories(Path.Combine(work, "cache", "app", "rootfs"))
                    .Any(), "nothing cached");
        }
        finally
        {
            RootfsCache.Discard(work);
        }
    }

    private static async Task<(DeriveAppRootfsTask Task, string Log)> DeriveAsync(
        string source, string publish, string cache)
    {
        var engine = new RecordingBuildEngine();
        var task = new DeriveAppRootfsTask
        {
            BuildEngine = engine,
            CacheDirectory = cache,
            BaseDigest = "0123456789abcdef0123456789abcdef",
            BaseRootDirectory = source,
            PublishDirectory = publish,
            InvariantGlobalization = true,
            User = "app",
        };
        var succeeded = await Task.Run(task.Execute);
        Assert.IsTrue(succeeded, engine.Log);
        return (task, engine.Log);
    }
}
