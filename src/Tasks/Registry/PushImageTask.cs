using System.Diagnostics;
using System.Globalization;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;
using Format = DockerToVms.Tasks.Registry.ManifestFormat;

namespace DockerToVms.Tasks.Registry;

/// <summary>
/// Pushes the app image to a registry (ContainerRegistry) as <c>REGISTRY/REPOSITORY:TAG</c>
/// for each tag, over the OCI distribution API, skipping the blobs the registry already has.
/// The image comes from the files the archive step wrote (<see cref="ConfigFile"/> and
/// <see cref="Layers"/>), which needs no daemon and keeps the archive's digests, or else out
/// of the Docker daemon (<see cref="Image"/>). Either stays as it is whatever happens, so a
/// failed push leaves the local result intact.
/// </summary>
public sealed class PushImageTask : AsyncTask
{
    /// <summary>The registry, <c>host</c> or <c>host:port</c>.</summary>
    [Required]
    public string Registry { get; set; } = string.Empty;

    /// <summary>The repository in the registry.</summary>
    [Required]
    public string Repository { get; set; } = string.Empty;

    /// <summary>
    /// The image in the daemon: an id or a reference. Not used when
    /// <see cref="ConfigFile"/> is given.
    /// </summary>
    public string Image { get; set; } = string.Empty;

    /// <summary>
    /// The configuration of an image this build wrote itself, as the archive holds it; with
    /// <see cref="Layers"/>, the image is pushed from these files and the daemon is not asked.
    /// </summary>
    public string ConfigFile { get; set; } = string.Empty;

    /// <summary>
    /// The layer files of the image in <see cref="ConfigFile"/>, bottom first, with
    /// <c>DiffId</c> and <c>Size</c> metadata (the archive step's <c>Layers</c> output).
    /// </summary>
    public ITaskItem[] Layers { get; set; } = [];

    /// <summary>The tags to push under; at least one.</summary>
    [Required]
    public string[] Tags { get; set; } = [];

    /// <summary>Registry hosts other than this machine that may be spoken to over HTTP.</summary>
    public string[] InsecureRegistries { get; set; } = [];

    /// <summary>Another repository of the registry to mount blobs from; empty for none.</summary>
    public string MountFrom { get; set; } = string.Empty;

    /// <summary><c>oci</c> (the default) or <c>docker</c>: the manifest format.</summary>
    public string ManifestFormat { get; set; } = "oci";

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <summary>The digest of the pushed manifest.</summary>
    [Output]
    public string ManifestDigest { get; private set; } = string.Empty;

    /// <summary>Credential sources; tests replace them.</summary>
    internal RegistryCredentials Credentials { get; set; } = new();

    /// <summary>The network; tests replace it.</summary>
    internal HttpMessageHandler? Handler { get; set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var registry = RegistryReference.Create(Registry, Repository, InsecureRegistries);
        var tags = Tags.Select(t => t.Trim()).Where(t => t.Length > 0)
            .Distinct(StringComparer.Ordinal).ToList();
        if (tags.Count == 0)
        {
            tags.Add("latest");
        }

        foreach (var tag in tags)
        {
            RegistryReference.CheckTag(tag, registry);
        }

        var format = ManifestFormat.Equals("docker", StringComparison.OrdinalIgnoreCase)
            ? Format.Docker
            : Format.Oci;
        var clock = Stopwatch.StartNew();
        var work = Directory.CreateTempSubdirectory("dtv-push-").FullName;
        try
        {
            var image = await ReadImageAsync(work, cancellation).ConfigureAwait(false);
            var credential = await Credentials.FindAsync(registry.Host, cancellation)
                .ConfigureAwait(false);
            using var client = new RegistryClient(registry, credential, Handler);
            var result = await RegistryPush.PushAsync(client, image, tags, format, MountFrom,
                (digest, present) => Log.LogMessageFromResources(MessageImportance.Normal,
                    present ? "RegistryBlobPresent" : "RegistryBlobUploaded", digest, registry),
                cancellation).ConfigureAwait(false);
            ManifestDigest = result.ManifestDigest;
            Log.LogMessageFromResources(MessageImportance.High, "RegistryPushed",
                registry, string.Join(", ", tags), result.ManifestDigest, result.BlobsUploaded,
                (result.BytesUploaded / 1e6).ToString("0.0", CultureInfo.InvariantCulture),
                result.BlobsPresent);
            LogStageTime("push", clock.Elapsed);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private async Task<PushImage> ReadImageAsync(string work, CancellationToken cancellation)
    {
        if (ConfigFile.Length > 0)
        {
            return await ComposedImageSource.ReadAsync(ConfigFile,
                ImageFileItems.FromItems(Layers), cancellation).ConfigureAwait(false);
        }

        if (Image.Length == 0)
        {
            throw new InvalidOperationException("Neither Image nor ConfigFile names an image.");
        }

        // The daemon must answer before anything else is tried.
        using (await DockerConnection.OpenAsync(DockerHost, cancellation).ConfigureAwait(false))
        {
        }

        return await DaemonImageSource.SaveAsync(DockerHost, Image, work, cancellation)
            .ConfigureAwait(false);
    }
}
