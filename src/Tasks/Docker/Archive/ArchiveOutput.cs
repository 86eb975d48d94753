using System.IO.Compression;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>
/// Where an image archive goes, read the way the .NET SDK reads ContainerArchiveOutputPath:
/// a path ending in <c>.tar.gz</c> (or <c>.tgz</c>) is a gzip-compressed archive, one ending
/// in <c>.tar</c> a plain one, and anything else a directory that gets
/// <c>REPOSITORY.tar.gz</c>. The archive is written under a temporary name beside its place
/// and renamed into it when complete, so a failed write leaves no half-written file.
/// </summary>
/// <param name="Path">The archive file.</param>
/// <param name="Compressed">Whether it is gzip-compressed.</param>
public sealed record ArchiveOutput(string Path, bool Compressed)
{
    private const int BufferSize = 1 << 16;

    /// <summary>Reads the setting.</summary>
    /// <param name="setting">ContainerArchiveOutputPath: a file or a directory.</param>
    /// <param name="repository">The image repository, which names the file in a directory.</param>
    public static ArchiveOutput Resolve(string setting, string repository)
    {
        var full = System.IO.Path.GetFullPath(setting);
        if (IsArchiveName(full, ".tar.gz") || IsArchiveName(full, ".tgz"))
        {
            return new ArchiveOutput(full, Compressed: true);
        }

        if (IsArchiveName(full, ".tar"))
        {
            return new ArchiveOutput(full, Compressed: false);
        }

        return new ArchiveOutput(
            System.IO.Path.Combine(full, repository.Replace('/', '-') + ".tar.gz"),
            Compressed: true);
    }

    /// <summary>
    /// Writes the archive: compressed with fixed gzip settings (no file name, no time), so
    /// equal images give equal files.
    /// </summary>
    /// <exception cref="DtvException">DTV9060 when the place cannot be written, DTV3101 when
    /// writing fails on the way.</exception>
    public void Write(ImageArchive archive, CancellationToken cancellation)
    {
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        string temporary;
        try
        {
            if (Directory.Exists(Path))
            {
                throw new IOException("a directory has that name");
            }

            Directory.CreateDirectory(directory);
            temporary = System.IO.Path.Combine(directory,
                $".{System.IO.Path.GetFileName(Path)}.{Guid.NewGuid():N}.tmp");
            new FileStream(temporary, FileMode.CreateNew, FileAccess.Write).Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DtvException("ArchivePathNotWritable", Path, e.Message);
        }

        try
        {
            using (var file = new FileStream(temporary, FileMode.Truncate, FileAccess.Write,
                FileShare.None, BufferSize))
            {
                cancellation.ThrowIfCancellationRequested();
                if (Compressed)
                {
                    // .NET's gzip header carries neither a name nor a time. The fastest
                    // level: the archive is mostly loaded on the same machine, and the
                    // best level takes about four times as long for a fifth less size.
                    using var gzip = new GZipStream(file, CompressionLevel.Fastest,
                        leaveOpen: true);
                    archive.WriteTo(gzip);
                }
                else
                {
                    archive.WriteTo(file);
                }

                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, Path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException
            or OperationCanceledException)
        {
            File.Delete(temporary);
            if (e is OperationCanceledException)
            {
                throw;
            }

            throw new DtvException("ArchiveWriteFailed", Path, e.Message);
        }
    }

    private static bool IsArchiveName(string path, string extension) =>
        path.EndsWith(extension, StringComparison.OrdinalIgnoreCase);
}
