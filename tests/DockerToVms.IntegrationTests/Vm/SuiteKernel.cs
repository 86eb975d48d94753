using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;
using TaskItem = Microsoft.Build.Utilities.TaskItem;

namespace DockerToVms.IntegrationTests.Vm;

/// <summary>
/// The test suite's own kernel: the package linux-image-amd64 points to, downloaded with apt
/// in a copy of the shared root filesystem and unpacked with dpkg-deb, once per machine,
/// next to the shared root filesystem's cache.
/// </summary>
public static class SuiteKernel
{
    private static readonly string s_home = Path.Combine(
        Environment.GetEnvironmentVariable("DOCKERTOVMS_TEST_CACHE") ?? "/var/tmp/dockertovms-tests",
        $"kernel-{SharedRootfs.Suite}-amd64");

    private static readonly SemaphoreSlim s_gate = new(1, 1);

    /// <summary>The unpacked package: boot/vmlinuz-* and usr/lib/modules/&lt;version&gt;.</summary>
    public static string Directory => Path.Combine(s_home, "package");

    /// <summary>The kernel image.</summary>
    public static string Vmlinuz => System.IO.Directory.GetFiles(
        Path.Combine(Directory, "boot"), "vmlinuz-*").Single();

    /// <summary>The modules directory, /lib/modules/&lt;version&gt; of the package.</summary>
    public static string Modules => System.IO.Directory.GetDirectories(
        Path.Combine(Directory, "usr", "lib", "modules")).Single();

    /// <summary>Downloads and unpacks the kernel unless an earlier run left it complete.</summary>
    public static async Task GetAsync()
    {
        await s_gate.WaitAsync();
        try
        {
            var marker = Path.Combine(s_home, "complete");
            if (File.Exists(marker))
            {
                return;
            }

            RootfsCache.Discard(s_home);
            System.IO.Directory.CreateDirectory(s_home);
            using var rootfs = await SharedRootfs.CopyAsync();
            var engine = new RecordingBuildEngine();
            var succeeded = new ChrootExecTask
            {
                BuildEngine = engine,
                RootDirectory = rootfs.Directory,
                Commands =
                [
                    new TaskItem("download", new Dictionary<string, string>
                    {
                        [ChrootExecTask.CommandMetadata] = "apt-get update -qq && cd /tmp && "
                            + "apt-get download -q \"$(apt-cache depends linux-image-amd64"
                            + " | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')\"",
                    }),
                ],
            }.Execute();
            if (!succeeded)
            {
                throw new InvalidOperationException("downloading the kernel failed:\n" + engine.Log);
            }

            var package = System.IO.Directory.GetFiles(Path.Combine(rootfs.Directory, "tmp"),
                "linux-image-*.deb").Single();
            await Tool.RunAsync("dpkg-deb", "-x", package, Directory);
            await File.WriteAllTextAsync(marker, Path.GetFileName(package));
        }
        finally
        {
            s_gate.Release();
        }
    }
}
