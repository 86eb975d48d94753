namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>What an app image is made of, for <see cref="AppImageComposer"/>.</summary>
public sealed record AppImageRequest
{
    /// <summary>The base's root filesystem, which becomes the first layer.</summary>
    public required string BaseRootDirectory { get; init; }

    /// <summary>
    /// The digest that names the base's content (its recipe, or the app-level base's own):
    /// its layer is kept under this name and written once. Empty to keep none.
    /// </summary>
    public string BaseDigest { get; init; } = string.Empty;

    /// <summary>The recipe's digest, written as a label as on images in the daemon.</summary>
    public string RecipeDigest { get; init; } = string.Empty;

    /// <summary>The app's files, which become the second layer.</summary>
    public required AppLayer AppLayer { get; init; }

    /// <summary>The image settings.</summary>
    public required ImageSettings Settings { get; init; }

    /// <summary>The processor, in Docker's names, such as <c>arm64</c>.</summary>
    public required string Architecture { get; init; }

    /// <summary>The processor's variant, such as <c>v8</c>; null for none.</summary>
    public string? Variant { get; init; }

    /// <summary>Settings the base brings, as Dockerfile instructions (<c>ENV PATH=...</c>).</summary>
    public IReadOnlyList<string> BaseChanges { get; init; } = [];

    /// <summary>
    /// SOURCE_DATE_EPOCH: the image's creation time and the latest time a file may carry.
    /// Null dates the image now and keeps the files' times.
    /// </summary>
    public DateTimeOffset? SourceDate { get; init; }

    /// <summary>Where base layers are kept between builds; empty to write one each time.</summary>
    public string LayerCacheDirectory { get; init; } = string.Empty;

    /// <summary>A folder for the app layer; it must outlive the archive's writing.</summary>
    public required string WorkDirectory { get; init; }
}

/// <summary>
/// Makes an app image without a daemon: the base's root filesystem as one layer, the
/// published app as a second, and a configuration from the image settings with one history
/// step a layer. With the same files and SOURCE_DATE_EPOCH, every digest is the same on
/// every machine.
/// </summary>
public static class AppImageComposer
{
    /// <summary>Writes the layers (the base's only when not kept already) and describes the image.</summary>
    public static async Task<ImageArchive> ComposeAsync(AppImageRequest request,
        CancellationToken cancellation)
    {
        var baseLayer = await BaseLayerAsync(request, cancellation).ConfigureAwait(false);

        var appPath = Path.Combine(request.WorkDirectory, "app-layer.tar");
        LayerDigest app;
        var file = new FileStream(appPath, FileMode.CreateNew, FileAccess.Write);
        await using (file.ConfigureAwait(false))
        {
            using var digest = new DigestStream(file);
            request.AppLayer.WriteTo(digest, request.SourceDate);
            app = new LayerDigest(digest.Digest, digest.BytesWritten);
        }

        var appLayer = new LayerFile(appPath, app.DiffId, app.Size);
        var references = request.Settings.Tags
            .Select(t => $"{request.Settings.Repository}:{t}").ToList();
        return new ImageArchive(Configure(request, baseLayer, appLayer, references[0]),
            [baseLayer, appLayer], references);
    }

    /// <summary>The configuration of the image from the settings, over the two layers.</summary>
    public static ImageConfig Configure(AppImageRequest request, LayerFile baseLayer,
        LayerFile appLayer, string reference)
    {
        var settings = request.Settings;
        var config = new ImageConfig
        {
            Architecture = request.Architecture,
            Variant = request.Variant,
            Created = request.SourceDate
                ?? DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
            DiffIds = [baseLayer.DiffId, appLayer.DiffId],
            History =
            [
                new ImageHistoryStep(request.RecipeDigest.Length > 0
                    ? $"DockerToVms: base root filesystem of recipe {request.RecipeDigest}"
                    : "DockerToVms: base root filesystem"),
                // As on images built through the daemon: no path of the build machine.
                new ImageHistoryStep("DockerToVms: app layer",
                    $"app layer: {request.AppLayer.FileCount} files"),
            ],
        };
        config = ImageChanges.Apply(config, request.BaseChanges, request.BaseRootDirectory,
            reference);

        var environment = config.Environment.ToList();
        foreach (var (name, value) in settings.Environment)
        {
            environment.RemoveAll(e => e.StartsWith(name + "=", StringComparison.Ordinal));
            environment.Add($"{name}={value}");
        }

        var labels = new Dictionary<string, string>(config.Labels, StringComparer.Ordinal);
        foreach (var (key, value) in settings.Labels)
        {
            labels[key] = value;
        }

        if (request.RecipeDigest.Length > 0)
        {
            labels[ImageLabels.Recipe] = request.RecipeDigest;
        }

        return config with
        {
            Environment = environment,
            Labels = labels,
            Entrypoint = settings.Entrypoint.Count > 0 ? settings.Entrypoint : config.Entrypoint,
            Cmd = settings.Cmd.Count > 0 ? settings.Cmd : config.Cmd,
            WorkingDirectory = settings.WorkingDirectory,
            User = settings.User,
            ExposedPorts = [.. config.ExposedPorts, .. settings.Ports],
        };
    }

    // The base's layer depends only on its files and the time limit, so it is kept (see
    // KeptLayers) and a warm build writes only the app's layer.
    private static async Task<LayerFile> BaseLayerAsync(AppImageRequest request,
        CancellationToken cancellation)
    {
        if (request.LayerCacheDirectory.Length == 0 || request.BaseDigest.Length == 0)
        {
            return await LayerWriter.WriteFileAsync(request.BaseRootDirectory,
                Path.Combine(request.WorkDirectory, "base-layer.tar"), cancellation,
                request.SourceDate).ConfigureAwait(false);
        }

        return await KeptLayers.GetOrWriteAsync(request.LayerCacheDirectory, request.BaseDigest,
            request.BaseRootDirectory, request.SourceDate, cancellation).ConfigureAwait(false);
    }
}
