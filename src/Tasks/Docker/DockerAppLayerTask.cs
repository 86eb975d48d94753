using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// Puts the published app on top of the base image as a layer of its own, the way
/// <c>docker commit --change</c> does: a container is created from the base with the image
/// configuration, the app is copied into its working directory, and the container is
/// committed under the requested tags. An image whose digest shows the same base, settings
/// and files is kept as it is.
/// </summary>
public sealed class DockerAppLayerTask : ImageSettingsTask
{
    /// <summary>The base image, by id or reference.</summary>
    [Required]
    public string BaseImage { get; set; } = string.Empty;

    /// <summary>The folder the app was published to.</summary>
    [Required]
    public string PublishDirectory { get; set; } = string.Empty;

    /// <summary>The program and its fixed arguments (ENTRYPOINT).</summary>
    public ITaskItem[] Entrypoint { get; set; } = [];

    /// <summary>Default arguments (CMD).</summary>
    public ITaskItem[] Cmd { get; set; } = [];

    /// <summary>
    /// Files of the build to add outside the app's folder, such as the SBOM: item spec the
    /// file, <c>Destination</c> metadata its absolute path in the image.
    /// </summary>
    public ITaskItem[] ExtraFiles { get; set; } = [];

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <summary>The app image's id.</summary>
    [Output]
    public string ImageId { get; private set; } = string.Empty;

    /// <summary>Whether a new image was committed (false when the existing one was kept).</summary>
    [Output]
    public bool Built { get; private set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var settings = ReadSettings(Entrypoint, Cmd);
        using var client = await DockerConnection.OpenAsync(DockerHost, cancellation)
            .ConfigureAwait(false);
        var baseImage = await ImageQueries.TryInspectAsync(client, BaseImage, cancellation)
            .ConfigureAwait(false) ?? throw new DtvException("BaseImageMissing", BaseImage);

        var clock = Stopwatch.StartNew();
        var layer = new AppLayer(PublishDirectory, settings.WorkingDirectory, ExtraFiles.Select(
            f => new KeyValuePair<string, string>(f.GetMetadata("FullPath"),
                f.GetMetadata("Destination"))));
        var digest = layer.ComputeDigest(baseImage.ID, settings.ToCanonicalJson());
        var references = settings.Tags.Select(t => $"{settings.Repository}:{t}").ToList();

        var current = await ImageQueries.TryInspectAsync(client, references[0], cancellation)
            .ConfigureAwait(false);
        if (current is not null && ImageQueries.Label(current, ImageLabels.AppDigest) == digest)
        {
            ImageId = current.ID;
            await TagAllAsync(client, settings, cancellation).ConfigureAwait(false);
            Log.LogMessageFromResources(MessageImportance.High, "AppImageReused",
                string.Join(", ", references), Short(ImageId));
            return;
        }

        ImageId = await CommitAsync(client, baseImage, settings, layer, digest, cancellation)
            .ConfigureAwait(false);
        Built = true;
        await TagAllAsync(client, settings, cancellation).ConfigureAwait(false);
        await RemoveIfUntaggedAsync(client, current, cancellation).ConfigureAwait(false);

        Log.LogMessageFromResources(MessageImportance.High, "AppImageBuilt",
            string.Join(", ", references), Short(ImageId));
        LogStageTime("app layer", clock.Elapsed);
    }

    private async Task<string> CommitAsync(DockerClient client, ImageInspectResponse baseImage,
        ImageSettings settings, AppLayer layer, string digest, CancellationToken cancellation)
    {
        var labels = settings.Labels.ToDictionary(p => p.Key, p => p.Value);
        labels[ImageLabels.AppDigest] = digest;

        // The container's configuration becomes the image's on commit; the base image's
        // environment (PATH) is merged in by the daemon.
        await BuildContainers.RemoveOrphansAsync(client, cancellation).ConfigureAwait(false);
        var container = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = BuildContainers.NewName(),
            Image = baseImage.ID,
            Entrypoint = settings.Entrypoint.Count > 0 ? [.. settings.Entrypoint] : null,
            Cmd = settings.Cmd.Count > 0 ? [.. settings.Cmd] : null,
            Env = [.. settings.Environment.Select(p => $"{p.Key}={p.Value}")],
            WorkingDir = settings.WorkingDirectory,
            User = settings.User,
            ExposedPorts = settings.Ports.ToDictionary(p => p, _ => new EmptyStruct()),
            Labels = labels,
            NetworkDisabled = true,
        }, cancellation).ConfigureAwait(false);

        try
        {
            await using (var archive = new FileStream(Path.GetTempFileName(), FileMode.Open,
                FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose))
            {
                layer.WriteTo(archive);
                archive.Position = 0;
                await client.Containers.ExtractArchiveToContainerAsync(container.ID,
                    new ContainerPathStatParameters { Path = "/" }, archive, cancellation)
                    .ConfigureAwait(false);
            }

            var committed = await client.Images.CommitContainerChangesAsync(
                new CommitContainerChangesParameters
                {
                    ContainerID = container.ID,
                    RepositoryName = settings.Repository,
                    Tag = settings.Tags[0],
                    // The image's history is public: no path of the build machine in it.
                    Comment = $"app layer: {layer.FileCount} files",
                }, cancellation).ConfigureAwait(false);
            return committed.ID;
        }
        catch (DockerApiException e)
        {
            throw new DtvException("AppLayerFailed", PublishDirectory, BaseImage,
                e.ResponseBody ?? e.Message);
        }
        finally
        {
            await client.Containers.RemoveContainerAsync(container.ID,
                new ContainerRemoveParameters { Force = true }, CancellationToken.None)
                .ConfigureAwait(false);
        }
    }

    private async System.Threading.Tasks.Task TagAllAsync(DockerClient client,
        ImageSettings settings, CancellationToken cancellation)
    {
        foreach (var tag in settings.Tags)
        {
            await client.Images.TagImageAsync(ImageId,
                new ImageTagParameters { RepositoryName = settings.Repository, Tag = tag, Force = true },
                cancellation).ConfigureAwait(false);
        }
    }

    // The previous app image under these tags would otherwise pile up as a dangling image
    // with every publish; it is removed once nothing refers to it.
    private async System.Threading.Tasks.Task RemoveIfUntaggedAsync(DockerClient client,
        ImageInspectResponse? previous, CancellationToken cancellation)
    {
        if (previous is null || previous.ID == ImageId)
        {
            return;
        }

        var now = await ImageQueries.TryInspectAsync(client, previous.ID, cancellation)
            .ConfigureAwait(false);
        if (now is not null && (now.RepoTags is null || now.RepoTags.Count == 0))
        {
            try
            {
                await client.Images.DeleteImageAsync(previous.ID, new ImageDeleteParameters(),
                    cancellation).ConfigureAwait(false);
            }
            catch (DockerApiException)
            {
                // A container still uses it; it stays, as docker build would leave it.
            }
        }
    }

    private static string Short(string id) =>
        id.Replace("sha256:", string.Empty, StringComparison.Ordinal)[..12];
}
