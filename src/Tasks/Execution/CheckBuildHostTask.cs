using DockerToVms.Tasks.Docker;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Execution;

/// <summary>
/// Checks, before any slow step starts, that this machine can build the base image: root,
/// the tools the steps run, and a Docker daemon that answers. A missing piece fails the build
/// at once with what to install or start.
/// </summary>
public sealed class CheckBuildHostTask : AsyncTask
{
    /// <summary>Whether a bootstrap will run (the cache has no entry for the recipe).</summary>
    public bool NeedsBootstrap { get; set; }

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <summary>The daemon address that was checked.</summary>
    [Output]
    public string ResolvedDockerHost { get; private set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var runner = GetRunner();
        if (NeedsBootstrap)
        {
            if (!HostTools.IsRoot)
            {
                throw new DtvException("NotRoot");
            }

            if (runner.Find("debootstrap") is null)
            {
                throw new DtvException("DebootstrapMissing");
            }

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
        using var client = await DockerConnection.OpenAsync(DockerHost, cancellation)
            .ConfigureAwait(false);
    }
}
