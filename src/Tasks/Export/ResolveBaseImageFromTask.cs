using Docker.DotNet.Models;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Export;

/// <summary>
/// Finds the image a base starts from (BaseImageFrom) before anything is built, so that its
/// id can go into the recipe: in the local daemon by reference, or in an image archive file
/// by its manifest. Nothing is ever pulled. The image must be for the app's architecture.
/// </summary>
public sealed class ResolveBaseImageFromTask : AsyncTask
{
    /// <summary>The image reference or archive file (BaseImageFrom).</summary>
    [Required]
    public string Image { get; set; } = string.Empty;

    /// <summary>The directory a relative archive path is taken from.</summary>
    public string ProjectDirectory { get; set; } = string.Empty;

    /// <summary>The app's runtime identifier; the image must be for its architecture.</summary>
    public string RuntimeIdentifier { get; set; } = string.Empty;

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <summary>The image id, <c>sha256:...</c>.</summary>
    [Output]
    public string ImageId { get; private set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var source = SourceImage.Parse(Image, ProjectDirectory);
        string architecture;
        string variant;
        if (source.ArchivePath is { } archive)
        {
            var image = ImageArchiveFile.Read(archive);
            (ImageId, architecture, variant) = (image.Id, image.Architecture, image.Variant);
        }
        else
        {
            using var client = await DockerConnection.OpenAsync(DockerHost, cancellation)
                .ConfigureAwait(false);
            ImageInspectResponse image = await ImageQueries.TryInspectAsync(client, source.Value,
                cancellation).ConfigureAwait(false)
                ?? throw new DtvException("SourceImageMissing", source.Value);
            (ImageId, architecture, variant) = (image.ID, image.Architecture ?? string.Empty,
                image.Variant ?? string.Empty);
        }

        CheckArchitecture(source.Value, architecture, variant, RuntimeIdentifier);
        Log.LogMessageFromResources(MessageImportance.High, "SourceImageResolved", source.Value,
            ImageId);
    }

    /// <summary>Throws DTV6012 when the image is for another processor than the app.</summary>
    public static void CheckArchitecture(string image, string architecture, string variant,
        string runtimeIdentifier)
    {
        if (runtimeIdentifier.Length == 0 || architecture.Length == 0)
        {
            return;
        }

        var wanted = RecipeValidation.RuntimeIdentifier(runtimeIdentifier);
        var (dockerArchitecture, dockerVariant) = DebianArchitecture.ToDocker(wanted);

        // An arm image without a variant says nothing about v5 or v7, so only a stated
        // variant that differs counts.
        var variantDiffers = dockerArchitecture == "arm" && variant.Length > 0
            && dockerVariant is not null && variant != dockerVariant;
        if (architecture != dockerArchitecture || variantDiffers)
        {
            var found = variant.Length > 0 ? $"{architecture}/{variant}" : architecture;
            throw new DtvException("SourceArchitectureMismatch", image, found,
                runtimeIdentifier, wanted);
        }
    }
}
