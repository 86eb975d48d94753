using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Docker;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Execution;

/// <summary>
/// Checks, before any slow step starts, that this machine can build the base image: root (or,
/// for an ordinary user, a usable user namespace), the tools the steps run, and a Docker
/// daemon that answers. A missing piece fails the build at once with what to install or start;
/// a missing daemon only when the build needs one, since without it the image goes to an
/// archive.
/// </summary>
public sealed class CheckBuildHostTask : AsyncTask
{
    /// <summary>Whether a bootstrap will run (the cache has no entry for the recipe).</summary>
    public bool NeedsBootstrap { get; set; }

    /// <summary>
    /// BaseImageBootstrapper: <c>auto</c>, <c>debootstrap</c> or <c>mmdebstrap</c>.
    /// </summary>
    public string Bootstrapper { get; set; } = BootstrapperSelection.Auto;

    /// <summary>Packages the bootstrap leaves out; only debootstrap can.</summary>
    public string[] ExcludePackages { get; set; } = [];

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <summary>
    /// Whether the build cannot go on without a daemon (a base from an existing image). When
    /// false, a daemon that does not answer only means the image goes to an archive.
    /// </summary>
    public bool RequireDaemon { get; set; } = true;

    /// <summary>Whether the image goes to an archive anyway, so no daemon is asked.</summary>
    public bool ArchiveRequested { get; set; }

    /// <summary>The daemon address that was checked.</summary>
    [Output]
    public string ResolvedDockerHost { get; private set; } = string.Empty;

    /// <summary>Whether a daemon answered (false when none was asked).</summary>
    [Output]
    public bool DaemonAvailable { get; private set; }

    /// <summary>Whether the build runs as root; tests replace it.</summary>
    internal bool RunsAsRoot { get; set; } = HostTools.IsRoot;

    /// <summary>Replaces the user namespace check in tests; null for the real machine.</summary>
    internal UserNamespaceCheck? Namespaces { get; set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var runner = GetRunner();

        // Without root, every step that works on the root filesystem runs in the build's user
        // namespace, a cached one too.
        if (!RunsAsRoot)
        {
            (Namespaces ?? new UserNamespaceCheck()).Require(runner.Find);
        }

        if (NeedsBootstrap)
        {
            var recipe = new DebootstrapOptions
            {
                Suite = string.Empty,
                Mirror = string.Empty,
                TargetDirectory = string.Empty,
                Architecture = string.Empty,
                Exclude = ExcludePackages,
            };
            BootstrapperSelection.Choose(Bootstrapper, recipe, !RunsAsRoot, runner.Find);
            foreach (var tool in new[] { "unshare", "chroot", "mount" })
            {
                if (runner.Find(tool) is null)
                {
                    throw new DtvException("UnshareMissing", tool);
                }
            }
        }

        if (runner.Find("tar") is null)
        {
            throw new DtvException("TarMissing");
        }

        ResolvedDockerHost = DockerConnection.Resolve(DockerHost);
        if (ArchiveRequested && !RequireDaemon)
        {
            return;
        }

        try
        {
            using var client = await DockerConnection.OpenAsync(DockerHost, cancellation)
                .ConfigureAwait(false);
            DaemonAvailable = true;
        }
        catch (DtvException e) when (!RequireDaemon && e.Code == "DTV3001")
        {
            Log.LogMessageFromResources(MessageImportance.High, "NoDaemonWritingArchive",
                ResolvedDockerHost);
            Log.LogMessage(MessageImportance.Low, e.Message);
        }
    }
}
