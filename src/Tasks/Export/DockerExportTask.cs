using System.Diagnostics;
using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Export;

/// <summary>
/// Takes the file system of an existing image as a root filesystem to customise: a
/// container is created from the image (never started), its file system is exported
/// through the engine API and unpacked safely into the directory, and the container is
/// removed. An image archive file is first loaded into the daemon without its names, and
/// removed again afterwards when the daemon did not have it before. Nothing is pulled.
/// </summary>
public sealed class DockerExportTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>Label on the temporary container, so that one left by a killed build is known.</summary>
    public const string ContainerLabel = "dev.dockertovms.export";

    /// <summary>The image reference or archive file (BaseImageFrom).</summary>
    [Required]
    public string Image { get; set; } = string.Empty;

    /// <summary>
    /// The id the recipe was made with; the export uses exactly this image, even when the
    /// reference has been moved to another one since.
    /// </summary>
    public string ImageId { get; set; } = string.Empty;

    /// <summary>The directory a relative archive path is taken from.</summary>
    public string ProjectDirectory { get; set; } = string.Empty;

    /// <summary>The root filesystem directory to fill; new or empty.</summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <summary>The number of entries unpacked.</summary>
    [Output]
    public int Entries { get; private set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        // Owners and device nodes can only be kept by root, and the chroot needs it anyway.
        if (!HostTools.IsRoot)
        {
            throw new DtvException("NotRoot");
        }

        var clock = Stopwatch.StartNew();
        var source = SourceImage.Parse(Image, ProjectDirectory);
        using var client = await DockerConnection.OpenAsync(DockerHost, cancellation)
            .ConfigureAwait(false);

        var id = ImageId;
        var loaded = false;
        if (source.ArchivePath is { } archive)
        {
            id = ImageArchiveFile.Read(archive).Id;
            loaded = await UntaggedLoad.LoadAsync(client, archive, id, WorkDirectory(),
                cancellation).ConfigureAwait(false);
        }

        try
        {
            var image = await ImageQueries.TryInspectAsync(client,
                id.Length > 0 ? id : source.Value, cancellation).ConfigureAwait(false)
                ?? throw new DtvException("SourceImageMissing", source.Value);
            var summary = await ExportAsync(client, image.ID, source.Value, cancellation)
                .ConfigureAwait(false);
            Entries = summary.Entries;

            if (summary.DroppedAttributes > 0)
            {
                Log.LogWarningWithCodeFromResources("SourceAttributesDropped",
                    summary.DroppedAttributes, source.Value, summary.FirstDroppedAttribute);
            }

            Log.LogMessageFromResources(MessageImportance.High, "SourceExported", source.Value,
                summary.Entries, (summary.Bytes / 1048576.0).ToString("0.0",
                    CultureInfo.InvariantCulture), RootDirectory);
            LogStageTime("export", clock.Elapsed);
        }
        finally
        {
            if (loaded)
            {
                await RemoveLoadedAsync(client, id).ConfigureAwait(false);
            }
        }
    }

    private async Task<UnpackSummary> ExportAsync(DockerClient client, string imageId,
        string name, CancellationToken cancellation)
    {
        // The engine wants a command to create a container; this one is never started.
        var container = await client.Containers.CreateContainerAsync(
            new CreateContainerParameters
            {
                Image = imageId,
                Entrypoint = ["true"],
                NetworkDisabled = true,
                Labels = new Dictionary<string, string> { [ContainerLabel] = imageId },
            }, cancellation).ConfigureAwait(false);

        // The engine's stream is copied to a file first: the client's chunked response stream
        // fails on the small synchronous reads of a tar reader, and a file lets the daemon's
        // side finish at its own pace.
        var copy = Path.Combine(WorkDirectory(), "export-" + Guid.NewGuid().ToString("N") + ".tar");
        try
        {
            await using (var file = new FileStream(copy, FileMode.CreateNew, FileAccess.Write,
                FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                using var archive = await client.Containers.ExportContainerAsync(container.ID,
                    cancellation).ConfigureAwait(false);
                await archive.CopyToAsync(file, 1 << 16, cancellation).ConfigureAwait(false);
            }

            var unpacker = new RootfsUnpacker(RootDirectory, name);
            using var stream = new FileStream(copy, FileMode.Open, FileAccess.Read, FileShare.None,
                1 << 16, FileOptions.DeleteOnClose | FileOptions.SequentialScan);
            return await System.Threading.Tasks.Task.Run(
                () => unpacker.Unpack(stream, cancellation), cancellation).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw new DtvException("SourceExportFailed", name, (e.ResponseBody ?? e.Message).Trim());
        }
        finally
        {
            File.Delete(copy);
            await client.Containers.RemoveContainerAsync(container.ID,
                new ContainerRemoveParameters { Force = true }, CancellationToken.None)
                .ConfigureAwait(false);
        }
    }

    // Beside the root filesystem, so in the build's staging directory, which a failed or
    // killed build's successor removes.
    private string WorkDirectory()
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(RootDirectory).TrimEnd('/'))!;
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static async System.Threading.Tasks.Task RemoveLoadedAsync(DockerClient client,
        string id)
    {
        try
        {
            await client.Images.DeleteImageAsync(id, new ImageDeleteParameters(),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (DockerApiException)
        {
            // Something started using the image meanwhile; it stays, untagged.
        }
    }
}
