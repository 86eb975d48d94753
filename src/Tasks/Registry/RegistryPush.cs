using DockerToVms.Tasks.Docker.Archive;

namespace DockerToVms.Tasks.Registry;

/// <summary>What a push did: the manifest's digest, and how many blobs went over the wire.</summary>
public sealed record PushResult(string ManifestDigest, int BlobsUploaded, int BlobsPresent,
    long BytesUploaded);

/// <summary>
/// Pushes an image: every blob the repository does not have yet (layers bottom first, the
/// configuration last), trying a mount from another repository of the same registry before
/// an upload, then the manifest under each tag. Blobs the registry already has cost one
/// <c>HEAD</c> request each.
/// </summary>
public static class RegistryPush
{
    /// <summary>Pushes the image under the tags and returns what was done.</summary>
    /// <param name="client">The registry and repository to push to.</param>
    /// <param name="image">The layers and configuration.</param>
    /// <param name="tags">The tags; the first one is stored first.</param>
    /// <param name="format">The manifest format.</param>
    /// <param name="mountFrom">Another repository of the registry that may hold the blobs,
    /// such as the base's; empty for none.</param>
    /// <param name="progress">Told about each blob: its digest, and whether it was there.</param>
    /// <param name="cancellation">Stops the push.</param>
    public static async Task<PushResult> PushAsync(RegistryClient client, PushImage image,
        IReadOnlyList<string> tags, ManifestFormat format, string mountFrom,
        Action<string, bool> progress, CancellationToken cancellation)
    {
        foreach (var tag in tags)
        {
            RegistryReference.CheckTag(tag, client.Registry);
        }

        var uploaded = 0;
        var present = 0;
        var bytes = 0L;
        var blobs = image.Layers
            .Select(l => (l.Digest, l.Size, Open: (Func<Stream>)(() => File.OpenRead(l.Path))))
            .Append((OciDigest.Of(image.ConfigJson.Span), image.ConfigJson.Length,
                () => new MemoryStream(image.ConfigJson.ToArray(), writable: false)))
            .DistinctBy(b => b.Item1, StringComparer.Ordinal);
        foreach (var (digest, size, open) in blobs)
        {
            if (await client.BlobExistsAsync(digest, cancellation).ConfigureAwait(false)
                || (mountFrom.Length > 0 && mountFrom != client.Registry.Repository
                    && await client.MountBlobAsync(digest, mountFrom, cancellation)
                        .ConfigureAwait(false)))
            {
                present++;
                progress(digest, true);
                continue;
            }

            await client.UploadBlobAsync(digest, size, open, cancellation).ConfigureAwait(false);
            uploaded++;
            bytes += size;
            progress(digest, false);
        }

        var manifest = ImageManifest.For(image, format);
        var manifestDigest = string.Empty;
        foreach (var tag in tags)
        {
            manifestDigest = await client.PutManifestAsync(tag, manifest, cancellation)
                .ConfigureAwait(false);
        }

        return new PushResult(manifestDigest, uploaded, present, bytes);
    }
}
