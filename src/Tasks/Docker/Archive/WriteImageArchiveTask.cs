using System.Diagnostics;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>
/// Writes the app image as an archive that <c>docker load</c>, podman and skopeo read,
/// without a Docker daemon: the base's root filesystem and the published app as two layers,
/// and the configuration from the image settings (see <see cref="AppImageComposer"/>). The
/// archive goes where ContainerArchiveOutputPath says (see <see cref="ArchiveOutput"/>).
/// </summary>
public sealed class WriteImageArchiveTask : ImageSettingsTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>The base's root filesystem.</summary>
    [Required]
    public string BaseRootDirectory { get; set; } = string.Empty;

    /// <summary>The digest naming the base's content; its layer is kept under it.</summary>
    public string BaseDigest { get; set; } = string.Empty;

    /// <summary>The recipe's digest, written as a label.</summary>
    public string RecipeDigest { get; set; } = string.Empty;

    /// <summary>The Debian architecture of the base, such as <c>arm64</c>.</summary>
    [Required]
    public string Architecture { get; set; } = string.Empty;

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

    /// <summary>Settings the base brings, as Dockerfile instructions (<c>ENV PATH=...</c>).</summary>
    public string[] BaseChanges { get; set; } = [];

    /// <summary>
    /// ContainerArchiveOutputPath: a <c>.tar.gz</c> or <c>.tar</c> file, or a directory
    /// that gets <c>REPOSITORY.tar.gz</c>.
    /// </summary>
    [Required]
    public string ArchiveOutputPath { get; set; } = string.Empty;

    /// <summary>
    /// SOURCE_DATE_EPOCH, seconds since 1970: the image's creation time and the latest time a
    /// file in it may carry. Empty for now and the files' own times.
    /// </summary>
    public string SourceDateEpoch { get; set; } = string.Empty;

    /// <summary>Where base layers are kept between builds; empty to keep none.</summary>
    public string LayerCacheDirectory { get; set; } = string.Empty;

    /// <summary>
    /// BaseImageCheck items: they run in a container, so with the image in an archive they
    /// are not run, and a warning says so.
    /// </summary>
    public ITaskItem[] SkippedChecks { get; set; } = [];

    /// <summary>
    /// A folder where the image's files are kept after the archive is written (the app's
    /// layer, and the configuration as <c>config.json</c>), for a push of the same image;
    /// empty to keep nothing. Its former content is removed.
    /// </summary>
    public string ImageDirectory { get; set; } = string.Empty;

    /// <summary>The archive written.</summary>
    [Output]
    public string ArchivePath { get; private set; } = string.Empty;

    /// <summary>The image's id, the digest of its configuration.</summary>
    [Output]
    public string ImageId { get; private set; } = string.Empty;

    /// <summary>The digest of the image's OCI manifest.</summary>
    [Output]
    public string ManifestDigest { get; private set; } = string.Empty;

    /// <summary>
    /// With an <see cref="ImageDirectory"/>: the layer files, bottom first, with their
    /// diff_ids and sizes (see <see cref="ImageFileItems"/>). The base's may be the one kept
    /// in the layer cache.
    /// </summary>
    [Output]
    public ITaskItem[] Layers { get; private set; } = [];

    /// <summary>With an <see cref="ImageDirectory"/>: the configuration's file.</summary>
    [Output]
    public string ConfigFile { get; private set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var settings = ReadSettings(Entrypoint, Cmd);
        RecipeValidation.Architecture(Architecture);
        var platform = DebianArchitecture.ToDocker(Architecture);
        var sourceDate = LayerTarWriter.ParseEpoch(SourceDateEpoch.Trim());
        if (SourceDateEpoch.Trim().Length > 0 && sourceDate is null)
        {
            throw new DtvException("SourceDateEpochInvalid", SourceDateEpoch);
        }

        if (!Directory.Exists(BaseRootDirectory))
        {
            throw new DtvException("RootfsMissing", BaseRootDirectory);
        }

        if (SkippedChecks.Length > 0)
        {
            Log.LogWarningWithCodeFromResources("ChecksNeedDaemon", SkippedChecks.Length);
        }

        var output = ArchiveOutput.Resolve(ArchiveOutputPath, settings.Repository);
        var clock = Stopwatch.StartNew();
        var keep = ImageDirectory.Length > 0;
        var work = keep ? FreshDirectory(ImageDirectory)
            : Directory.CreateTempSubdirectory("dtv-archive-").FullName;
        try
        {
            var archive = await AppImageComposer.ComposeAsync(new AppImageRequest
            {
                BaseRootDirectory = BaseRootDirectory,
                BaseDigest = BaseDigest,
                RecipeDigest = RecipeDigest,
                AppLayer = new AppLayer(PublishDirectory, settings.WorkingDirectory,
                    ExtraFiles.Select(f => new KeyValuePair<string, string>(
                        f.GetMetadata("FullPath"), f.GetMetadata("Destination")))),
                Settings = settings,
                Architecture = platform.Architecture,
                Variant = platform.Variant,
                BaseChanges = BaseChanges,
                SourceDate = sourceDate,
                LayerCacheDirectory = LayerCacheDirectory,
                WorkDirectory = work,
            }, cancellation).ConfigureAwait(false);

            output.Write(archive, cancellation);
            ArchivePath = output.Path;
            ImageId = archive.ImageId;
            ManifestDigest = archive.ManifestDigest;
            if (keep)
            {
                ConfigFile = Path.Combine(work, "config.json");
                await File.WriteAllBytesAsync(ConfigFile, archive.ConfigJson.ToArray(),
                    cancellation).ConfigureAwait(false);
                Layers = ImageFileItems.ToItems(archive.Layers);
            }
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(work, recursive: true);
            }
        }

        Log.LogMessageFromResources(MessageImportance.High, "ImageArchiveWritten",
            string.Join(", ", settings.Tags.Select(t => $"{settings.Repository}:{t}")),
            ArchivePath, ManifestDigest);
        LogStageTime("image archive", clock.Elapsed);
    }

    private static string FreshDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }

        return Directory.CreateDirectory(path).FullName;
    }
}
