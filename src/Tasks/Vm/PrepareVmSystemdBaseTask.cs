using System.Diagnostics;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// VmInit=systemd: returns the base with systemd installed, building and caching it the first
/// time (see <see cref="SystemdBase"/>). Needs root, as the chroot does.
/// </summary>
public sealed class PrepareVmSystemdBaseTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>The root filesystem cache (BaseImageCacheDirectory).</summary>
    [Required]
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>The recipe digest of the base.</summary>
    [Required]
    public string BaseDigest { get; set; } = string.Empty;

    /// <summary>The cached base root filesystem, copied and never changed.</summary>
    [Required]
    public string BaseRootDirectory { get; set; } = string.Empty;

    /// <summary>Let apt install from an archive without signatures (BaseImageAllowUnsigned).
    /// </summary>
    public bool AllowUnsigned { get; set; }

    /// <summary>The base with systemd, in the cache.</summary>
    [Output]
    public string RootDirectory { get; private set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        if (!HostTools.IsRoot)
        {
            throw new DtvException("NotRoot");
        }

        var clock = Stopwatch.StartNew();
        RootDirectory = await new SystemdBase(GetRunner(), Log).GetAsync(CacheDirectory,
            BaseDigest, BaseRootDirectory, AllowUnsigned, cancellation).ConfigureAwait(false);
        LogStageTime("the systemd VM base", clock.Elapsed);
    }
}
