using System.Globalization;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>
/// Base layers kept between builds in <c>CACHE/layers/</c>, named by the base's digest and
/// the time limit, since a layer depends only on the files and that limit: the archive step
/// and the push of a base to a cache registry take the same file, so a build that does both
/// writes the layer once. A kept layer is used only while it is clean: whole (it is written
/// under a temporary name and renamed, and its diff_id is written last) and made from the
/// root filesystem that is there now (the root directory's file system, inode and change time
/// are written beside it), so a base bootstrapped again under the same recipe gets a new layer.
/// </summary>
public static class KeptLayers
{
    /// <summary>The kept layer of the root filesystem, written first when there is none.</summary>
    /// <param name="cacheDirectory">The cache; the layers go into its <c>layers</c> folder.</param>
    /// <param name="baseDigest">The digest that names the base's content.</param>
    /// <param name="rootDirectory">The base's root filesystem.</param>
    /// <param name="latestTime">SOURCE_DATE_EPOCH: the latest time an entry may carry; null
    /// for the files' own times.</param>
    /// <param name="cancellation">Stops the writing.</param>
    public static async Task<LayerFile> GetOrWriteAsync(string cacheDirectory,
        string baseDigest, string rootDirectory, DateTimeOffset? latestTime,
        CancellationToken cancellation)
    {
        var folder = Directory.CreateDirectory(Path.Combine(cacheDirectory, "layers")).FullName;
        var limit = latestTime is { } date
            ? date.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)
            : "unclamped";
        var name = Path.Combine(folder, $"{baseDigest}-{limit}");
        var tar = name + ".tar";
        var diffIdFile = name + ".diffid";
        var sourceFile = name + ".source";
        var source = SourceOf(rootDirectory);
        if (File.Exists(tar) && File.Exists(diffIdFile) && File.Exists(sourceFile)
            && (await File.ReadAllTextAsync(sourceFile, cancellation).ConfigureAwait(false))
                .Trim() == source)
        {
            var diffId = (await File.ReadAllTextAsync(diffIdFile, cancellation)
                .ConfigureAwait(false)).Trim();
            return new LayerFile(tar, diffId, new FileInfo(tar).Length);
        }

        // A layer of another root filesystem loses its diff_id first, so a build stopped
        // half-way never takes the old layer for the new one.
        File.Delete(diffIdFile);
        var temporary = $"{name}.{Guid.NewGuid():N}.tmp";
        try
        {
            var layer = await LayerWriter.WriteFileAsync(rootDirectory, temporary,
                cancellation, latestTime).ConfigureAwait(false);
            File.Move(temporary, tar, overwrite: true);
            await File.WriteAllTextAsync(sourceFile, source + "\n", cancellation)
                .ConfigureAwait(false);
            await File.WriteAllTextAsync(diffIdFile, layer.DiffId + "\n", cancellation)
                .ConfigureAwait(false);
            return layer with { Path = tar };
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    // A bootstrap makes a new root directory, whose change time (ctime, in nanoseconds) is
    // its own even when its inode number is reused and its modification time clamped.
    private static string SourceOf(string rootDirectory)
    {
        var status = FileStatus.Read(Path.GetFullPath(rootDirectory).TrimEnd('/'));
        return string.Create(CultureInfo.InvariantCulture,
            $"{status.Device}:{status.Inode}:{status.ChangedNanoseconds}");
    }
}
