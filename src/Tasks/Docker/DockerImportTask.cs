using System.Diagnostics;
using System.Globalization;
using Docker.DotNet;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using DockerToVms.Tasks.Rootfs;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// Imports a root filesystem into the Docker daemon as a one-layer image, with Dockerfile-style
/// changes (ENV, LABEL, CMD, ...) and a repository:tag. The layer and the configuration are
/// written as an image archive (<see cref="ImageArchive"/>) and loaded the way
/// <c>docker load</c> does, because the engine's import endpoint (up to Docker 20.10 at least)
/// records the daemon's own architecture whatever the root filesystem holds. When the tag
/// already holds an image of the same recipe and architecture, nothing is imported again.
/// </summary>
public sealed class DockerImportTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

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

    /// <summary>
    /// The Debian architecture of the root filesystem, such as <c>arm64</c>; the image's
    /// configuration gets Docker's names for it (<c>arm64</c>, variant <c>v8</c>). Defaults
    /// to the build machine's.
    /// </summary>
    public string Architecture { get; set; } = string.Empty;

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
        var architecture = Architecture.Length > 0 ? Architecture : DebianArchitecture.Host;
        RecipeValidation.Architecture(architecture);
        var platform = DebianArchitecture.ToDocker(architecture);
        var reference = $"{Repository}:{Tag}";
        using var client = await DockerConnection.OpenAsync(DockerHost, cancellation)
            .ConfigureAwait(false);

        if (await TryReuseAsync(client, reference, platform.Architecture, cancellation)
            .ConfigureAwait(false))
        {
            return;
        }

        // Two builds of one recipe would otherwise both import it. The lock is machine-wide,
        // as the daemon is; the second build waits, then finds the first one's image.
        var lockFile = ImportLockFile(reference);
        using var held = await CacheLock.AcquireAsync(lockFile, "importing " + reference,
            owner => Log.LogMessageFromResources(MessageImportance.High, "ImportWaiting",
                reference, owner, lockFile),
            cancellation).ConfigureAwait(false);
        if (await TryReuseAsync(client, reference, platform.Architecture, cancellation)
            .ConfigureAwait(false))
        {
            return;
        }

        if (!Directory.Exists(RootDirectory))
        {
            throw new DtvException("RootfsMissing", RootDirectory);
        }

        var clock = Stopwatch.StartNew();
        ImageId = await ImportAsync(client, reference, platform, cancellation)
            .ConfigureAwait(false);
        Imported = true;
        Log.LogMessageFromResources(MessageImportance.High, "BaseImageImported", reference,
            ShortId(ImageId));
        LogStageTime("import", clock.Elapsed);
    }

    /// <summary>The lock file for imports under one reference, shared by the user's builds.</summary>
    public static string ImportLockFile(string reference) =>
        ImportLockFile(reference, Path.GetTempPath());

    /// <summary>The lock file for imports under one reference, in a temporary folder.</summary>
    /// <exception cref="DtvException">DTV3013 when the lock folder is not this user's.</exception>
    internal static string ImportLockFile(string reference, string temporaryFolder)
    {
        // An ordinary user cannot create files in a folder root made, so each user has one.
        var owner = UserNamespace.BuildingUserId;
        var folder = Path.Combine(temporaryFolder,
            owner == 0 ? "dockertovms-locks" : $"dockertovms-locks-{owner}");
        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite
            | UnixFileMode.UserExecute);

        // The temporary folder is shared: a folder of that name that someone else made, or
        // that others may write to, could hold links that turn the lock's files into theirs.
        var status = FileStatus.Read(folder);
        if ((status.Mode & 0xF000) != 0x4000 || status.Uid != HostTools.UserId
            || (status.Mode & 0b000_010_010) != 0)
        {
            throw new DtvException("LockFolderUnsafe", folder, status.Uid,
                Convert.ToString(status.Mode & 0xFFF, 8));
        }

        var name = string.Concat(reference.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));
        return Path.Combine(folder, "import-" + name + ".lock");
    }

    // An image under the tag made from the same recipe, for the same architecture, is kept.
    private async Task<bool> TryReuseAsync(DockerClient client, string reference,
        string architecture, CancellationToken cancellation)
    {
        var existing = await ImageQueries.TryInspectAsync(client, reference, cancellation)
            .ConfigureAwait(false);
        if (existing is null || RecipeDigest.Length == 0
            || ImageQueries.Label(existing, ImageLabels.Recipe) != RecipeDigest
            || existing.Architecture != architecture)
        {
            return false;
        }

        ImageId = existing.ID;
        Log.LogMessageFromResources(MessageImportance.High, "BaseImageReused", reference,
            ShortId(ImageId));
        return true;
    }

    private async Task<string> ImportAsync(DockerClient client, string reference,
        (string Architecture, string? Variant) platform, CancellationToken cancellation)
    {
        // The layer must be complete before the configuration can name its digest, so it
        // goes through a file; so does the archive, which the daemon reads at its own pace.
        var work = Directory.CreateTempSubdirectory("dtv-image-").FullName;
        try
        {
            var layer = await LayerWriter.WriteFileAsync(RootDirectory,
                Path.Combine(work, "layer.tar"), cancellation).ConfigureAwait(false);
            var archive = new ImageArchive(CreateConfig(layer, reference, platform), [layer],
                [reference]);

            var file = new FileStream(Path.Combine(work, "image.tar"), FileMode.CreateNew,
                FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                archive.WriteTo(file);
                file.Position = 0;
                await ImageLoad.LoadAsync(client, file, RootDirectory, reference, cancellation)
                    .ConfigureAwait(false);
            }

            var image = await ImageQueries.TryInspectAsync(client, reference, cancellation)
                .ConfigureAwait(false);
            return image?.ID
                ?? throw new DtvException("ImportFailed", RootDirectory, reference,
                    "the daemon reported no image");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private ImageConfig CreateConfig(LayerFile layer, string reference,
        (string Architecture, string? Variant) platform)
    {
        var config = new ImageConfig
        {
            Architecture = platform.Architecture,
            Variant = platform.Variant,
            Created = CreationTime(),
            DiffIds = [layer.DiffId],
            History =
            [
                new ImageHistoryStep(RecipeDigest.Length > 0
                    ? $"DockerToVms: base root filesystem of recipe {RecipeDigest}"
                    : "DockerToVms: base root filesystem"),
            ],
        };
        config = ImageChanges.Apply(config, Changes, RootDirectory, reference);
        if (RecipeDigest.Length > 0)
        {
            config = config with
            {
                Labels = new Dictionary<string, string>(config.Labels, StringComparer.Ordinal)
                {
                    [ImageLabels.Recipe] = RecipeDigest,
                },
            };
        }

        return config;
    }

    // SOURCE_DATE_EPOCH, when set, dates the image, so that the same layer gives the same id.
    private static DateTimeOffset CreationTime()
    {
        var epoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        return long.TryParse(epoch, NumberStyles.None, CultureInfo.InvariantCulture,
            out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    private static string ShortId(string id) => id.Replace("sha256:", "", StringComparison.Ordinal)[..12];
}
