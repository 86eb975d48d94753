using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;
using TaskLoggingHelper = Microsoft.Build.Utilities.TaskLoggingHelper;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// The VM flavour of a cached base with systemd as PID 1: a copy of the base with systemd,
/// its sysvinit links and udev installed in a chroot, cached apart from the base by the
/// base's digest, so the container image never holds them and a second build installs
/// nothing.
/// </summary>
public sealed class SystemdBase
{
    /// <summary>What the flavour installs: PID 1, /sbin/init and friends, and udev, without
    /// which systemd-networkd leaves the network interface alone.</summary>
    public static readonly IReadOnlyList<string> Packages = ["systemd", "systemd-sysv", "udev"];

    /// <summary>
    /// Run after the install: the package lists and downloads go; the machine id is emptied,
    /// so each machine makes its own at boot without taking it for a first boot (which would
    /// prompt on the console); systemd-networkd brings up the network. The units that
    /// rebuild caches the install has just built (the linker's, udev's hardware database,
    /// the journal's catalog) are masked: the VM's root never starts newer than its /usr, and
    /// each costs seconds under emulation.
    /// </summary>
    public const string Finish = "apt-get clean && rm -rf /var/lib/apt/lists/* && "
        + ": > /etc/machine-id && systemctl enable systemd-networkd.service && "
        + "systemctl mask ldconfig.service systemd-hwdb-update.service "
        + "systemd-journal-catalog-update.service systemd-update-done.service";

    private readonly IToolRunner _runner;
    private readonly TaskLoggingHelper _log;

    /// <summary>Creates the builder; cp and the chroot run through the runner.</summary>
    public SystemdBase(IToolRunner runner, TaskLoggingHelper log)
    {
        _runner = runner;
        _log = log;
    }

    /// <summary>The flavour's cache key: the base's recipe digest and what is done to it.
    /// </summary>
    public static string DigestFor(string baseDigest) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n',
            [baseDigest, "vm-systemd", .. Packages, Finish])))).ToLowerInvariant();

    /// <summary>Returns the flavour's root filesystem, building it first when not cached.
    /// </summary>
    public async Task<string> GetAsync(string cacheDirectory, string baseDigest,
        string baseRoot, bool allowUnsigned, CancellationToken cancellation)
    {
        var digest = DigestFor(baseDigest);
        var cache = new RootfsCache(Path.Combine(cacheDirectory, "vm-systemd"));
        var root = Path.Combine(cache.EntryFor(digest), RootfsCache.RootfsFolderName);
        if (cache.Has(digest))
        {
            return root;
        }

        using var held = await cache.LockAsync(digest, m => _log.LogMessage(m), cancellation)
            .ConfigureAwait(false);
        if (cache.Has(digest))
        {
            return root;
        }

        var staging = cache.BeginStaging(digest);
        try
        {
            var stagingRoot = Path.Combine(staging, RootfsCache.RootfsFolderName);
            Directory.CreateDirectory(stagingRoot);
            await CopyAsync(baseRoot, stagingRoot, cancellation).ConfigureAwait(false);
            await InstallAsync(stagingRoot, allowUnsigned, cancellation).ConfigureAwait(false);
            var recipe = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["base"] = baseDigest,
                ["flavour"] = "vm-systemd",
                ["packages"] = Packages,
                ["finish"] = Finish,
            });
            cache.Commit(staging, digest, recipe);
        }
        catch
        {
            RootfsCache.Discard(staging);
            throw;
        }

        return root;
    }

    private async Task CopyAsync(string source, string destination,
        CancellationToken cancellation)
    {
        var result = await _runner.RunAsync(new ToolCommand("cp",
            ["-a", "--reflink=auto", source.TrimEnd('/') + "/.", destination]), cancellation)
            .ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new DtvException("VmRootCopyFailed", source, destination, result.ExitCode,
                result.Tail);
        }
    }

    private async Task InstallAsync(string root, bool allowUnsigned,
        CancellationToken cancellation)
    {
        var none = new Dictionary<string, string>();
        using var session = ChrootSession.Open(root, _runner, _log, allowUnsigned);
        var install = await session.RunAsync(
            ["/bin/sh", "-c", ChrootSession.Script("install-packages.sh"), "install-packages.sh",
                .. Packages],
            none, "apt-get install " + string.Join(' ', Packages), cancellation)
            .ConfigureAwait(false);
        if (install.ExitCode != 0)
        {
            throw new DtvException("VmSystemdInstallFailed", string.Join(' ', Packages),
                install.ExitCode, install.Tail);
        }

        var finish = await session.RunShellAsync(Finish, none, cancellation)
            .ConfigureAwait(false);
        if (finish.ExitCode != 0)
        {
            throw new DtvException("VmSystemdInstallFailed", Finish, finish.ExitCode,
                finish.Tail);
        }
    }
}
