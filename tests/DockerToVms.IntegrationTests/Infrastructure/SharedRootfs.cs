using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.IntegrationTests.Infrastructure;

/// <summary>
/// One root filesystem of the default suite, bootstrapped with the real debootstrap from the
/// real mirror once per machine and shared by every test; tests that change a root filesystem
/// work on a copy of it.
/// </summary>
public static class SharedRootfs
{
    /// <summary>The suite the tests bootstrap.</summary>
    public const string Suite = "trixie";

    /// <summary>The mirror the tests bootstrap from.</summary>
    public const string Mirror = "http://deb.debian.org/debian";

    private static readonly string s_home = Path.Combine(
        Environment.GetEnvironmentVariable("DOCKERTOVMS_TEST_CACHE") ?? "/var/tmp/dockertovms-tests",
        $"rootfs-{Suite}-minbase");

    private static readonly SemaphoreSlim s_gate = new(1, 1);

    /// <summary>The shared root filesystem's directory.</summary>
    public static string Directory => Path.Combine(s_home, "rootfs");

    /// <summary>What debootstrap logged when it made the shared root filesystem.</summary>
    public static string BootstrapLog { get; private set; } = string.Empty;

    /// <summary>Bootstraps the shared root filesystem unless an earlier run left it complete.</summary>
    public static async Task<string> GetAsync()
    {
        await s_gate.WaitAsync();
        try
        {
            var marker = Path.Combine(s_home, "complete");
            if (File.Exists(marker))
            {
                return Directory;
            }

            // A run that died half-way leaves an incomplete tree; it is never reused.
            RootfsCache.Discard(s_home);
            System.IO.Directory.CreateDirectory(s_home);

            var engine = new RecordingBuildEngine();
            var task = new DebootstrapTask
            {
                BuildEngine = engine,
                Suite = Suite,
                Mirror = Mirror,
                TargetDirectory = Directory,
            };
            var succeeded = task.Execute();
            BootstrapLog = engine.Log;
            if (!succeeded)
            {
                throw new InvalidOperationException("debootstrap failed:\n" + engine.Log);
            }

            await File.WriteAllTextAsync(marker, DateTime.UtcNow.ToString("O"));
            return Directory;
        }
        finally
        {
            s_gate.Release();
        }
    }

    /// <summary>A private copy of the shared root filesystem, deleted when disposed.</summary>
    public static async Task<TemporaryRootfs> CopyAsync()
    {
        var source = await GetAsync();
        var copy = new TemporaryRootfs();
        await Tool.RunAsync("cp", "-a", source + "/.", copy.Directory);
        return copy;
    }
}

/// <summary>A root filesystem in a temporary directory, removed (never while mounted) on dispose.</summary>
public sealed class TemporaryRootfs : IDisposable
{
    private readonly string _parent = System.IO.Directory.CreateTempSubdirectory("dtv-it-").FullName;

    /// <summary>Creates the empty directory.</summary>
    public TemporaryRootfs() => System.IO.Directory.CreateDirectory(Directory);

    /// <summary>The root filesystem's directory.</summary>
    public string Directory => Path.Combine(_parent, "rootfs");

    /// <summary>Mount points left below the root filesystem; tests expect none.</summary>
    public IReadOnlyList<string> Mounts => MountTable.Below(_parent);

    /// <inheritdoc />
    public void Dispose() => RootfsCache.Discard(_parent);
}
