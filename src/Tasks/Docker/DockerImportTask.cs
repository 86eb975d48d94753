using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// Imports a root filesystem into the Docker daemon as an image, through the engine's import
/// endpoint, with Dockerfile-style changes (CMD, ENV, LABEL, ...) and a repository:tag. When
/// the tag already holds an image made from the same recipe, nothing is imported again.
/// </summary>
public sealed class DockerImportTask : AsyncTask
{
    /// <summary>The root filesystem to import.</summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>The image repository, such as <c>myapp-base</c>.</summary>
    [Required]
    public string Repository { get; set; } = string.Empty;

    /// <summary>The tag. Defaults to <c>latest</c>.</summary>
    public string Tag { get; set; } = "latest";

    /// <summary>Dockerfile instructions applied on import, such as <c>CMD ["/bin/sh"]</c>.</summary>
    public string[] Changes { get; set; } = [];

    /// <summary>
    /// The recipe digest; stored as a label, and an image under the tag that carries the same
    /// one is reused instead of importing again.
    /// </summary>
    public string RecipeDigest { get; set; } = string.Empty;

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <summary>The image id, <c>sha256:...</c>.</summary>
    [Output]
    public string ImageId { get; private set; } = string.Empty;

    /// <summary>Whether an image was imported (false when an existing one was reused).</summary>
    [Output]
    public bool Imported { get; private set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        RecipeValidation.Repository(Repository);
        RecipeValidation.Tag(Tag);
        var reference = $"{Repository}:{Tag}";
        using var client = await DockerConnection.OpenAsync(DockerHost, cancellation)
            .ConfigureAwait(false);

        var existing = await ImageQueries.TryInspectAsync(client, reference, cancellation)
            .ConfigureAwait(false);
        if (existing is not null && RecipeDigest.Length > 0
            && ImageQueries.Label(existing, ImageLabels.Recipe) == RecipeDigest)
        {
            ImageId = existing.ID;
            Log.LogMessageFromResources(MessageImportance.High, "BaseImageReused", reference,
                ShortId(ImageId));
            return;
        }

        if (!Directory.Exists(RootDirectory))
        {
            throw new DtvException("RootfsMissing", RootDirectory);
        }

        if (GetRunner().Find("tar") is null)
        {
            throw new DtvException("TarMissing");
        }

        var clock = Stopwatch.StartNew();
        ImageId = await ImportAsync(client, reference, cancellation).ConfigureAwait(false);
        Imported = true;
        Log.LogMessageFromResources(MessageImportance.High, "BaseImageImported", reference,
            ShortId(ImageId));
        LogStageTime("import", clock.Elapsed);
    }

    private async Task<string> ImportAsync(DockerClient client, string reference,
        CancellationToken cancellation)
    {
        var changes = Changes.ToList();
        if (RecipeDigest.Length > 0)
        {
            changes.Add($"LABEL {ImageLabels.Recipe}={RecipeDigest}");
        }

        var parameters = new ImagesCreateParameters
        {
            FromSrc = "-",
            Repo = Repository,
            Tag = Tag,
            Changes = changes,
        };
        var progress = new ImportProgress();
        var result = await GetRunner().RunPipedAsync(RootfsArchive.Create(RootDirectory),
            async (archive, token) =>
            {
                try
                {
                    await client.Images.CreateImageAsync(parameters, archive, null, progress,
                        token).ConfigureAwait(false);
                }
                catch (DockerApiException e)
                {
                    progress.Fail(e.ResponseBody ?? e.Message);
                }
            },
            cancellation).ConfigureAwait(false);

        if (result.ExitCode != 0)
        {
            throw new DtvException("TarFailed", RootDirectory, result.ExitCode, result.Tail);
        }

        if (progress.Error is not null)
        {
            throw new DtvException("ImportFailed", RootDirectory, reference, progress.Error);
        }

        // The import endpoint reports the new id as its last status; the tag is the check.
        var image = await ImageQueries.TryInspectAsync(client, reference, cancellation)
            .ConfigureAwait(false);
        return image?.ID
            ?? throw new DtvException("ImportFailed", RootDirectory, reference,
                progress.LastStatus ?? "the daemon reported no image");
    }

    private static string ShortId(string id) => id.Replace("sha256:", "", StringComparison.Ordinal)[..12];

    private sealed class ImportProgress : IProgress<JSONMessage>
    {
        public string? Error { get; private set; }

        public string? LastStatus { get; private set; }

        public void Report(JSONMessage value)
        {
            if (value.Error is not null)
            {
                Fail(value.Error.Message);
            }
            else if (!string.IsNullOrEmpty(value.ErrorMessage))
            {
                Fail(value.ErrorMessage);
            }
            else if (!string.IsNullOrEmpty(value.Status))
            {
                LastStatus = value.Status;
            }
        }

        public void Fail(string message) => Error ??= message;
    }
}
