using System.Formats.Tar;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Docker.DotNet.Models;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Export;

/// <summary>
/// Loads an image archive into the daemon without the names it carries, so that loading it
/// to read its files moves no tag the user has: the archive is copied with the tags left
/// out of <c>manifest.json</c> (and the names out of an OCI <c>index.json</c>), and the copy
/// is loaded. The image can then be removed again by its id alone.
/// </summary>
public static class UntaggedLoad
{
    /// <summary>Loads the archive; returns false when the daemon already had the image.</summary>
    /// <exception cref="DtvException">DTV6010 when the daemon does not take the archive.</exception>
    public static async Task<bool> LoadAsync(IDockerClient client, string archivePath,
        string imageId, string workDirectory, CancellationToken cancellation)
    {
        if (await ImageQueries.TryInspectAsync(client, imageId, cancellation)
            .ConfigureAwait(false) is not null)
        {
            return false;
        }

        var copy = Path.Combine(workDirectory, "untagged-" + Guid.NewGuid().ToString("N") + ".tar");
        try
        {
            WriteUntagged(archivePath, copy);
            var progress = new LoadProgress();
            try
            {
                await using var stream = File.OpenRead(copy);
                await client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true },
                    stream, progress, cancellation).ConfigureAwait(false);
            }
            catch (DockerApiException e)
            {
                progress.Error ??= (e.ResponseBody ?? e.Message).Trim();
            }

            if (await ImageQueries.TryInspectAsync(client, imageId, cancellation)
                .ConfigureAwait(false) is null)
            {
                throw new DtvException("SourceLoadFailed", archivePath,
                    progress.Error ?? "the daemon did not report the image " + imageId);
            }

            return true;
        }
        finally
        {
            File.Delete(copy);
        }
    }

    /// <summary>Copies the archive with every image name left out.</summary>
    public static void WriteUntagged(string archivePath, string destination)
    {
        using var input = ImageArchiveFile.OpenDecompressed(archivePath);
        using var reader = new TarReader(input);
        using var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write);
        using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        while (reader.GetNextEntry() is { } entry)
        {
            var name = entry.Name.StartsWith("./", StringComparison.Ordinal)
                ? entry.Name[2..]
                : entry.Name;
            if (name is "manifest.json" or "index.json" && entry.DataStream is { } data)
            {
                var document = JsonNode.Parse(data);
                Untag(document);
                var bytes = HostTools.Utf8.GetBytes(document?.ToJsonString() ?? "null");
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, entry.Name)
                {
                    Mode = entry.Mode,
                    ModificationTime = entry.ModificationTime,
                    DataStream = new MemoryStream(bytes),
                });
            }
            else
            {
                writer.WriteEntry(entry);
            }
        }
    }

    private static void Untag(JsonNode? document)
    {
        if (document is JsonArray images)
        {
            foreach (var image in images.OfType<JsonObject>())
            {
                image.Remove("RepoTags");
            }
        }
        else if (document?["manifests"] is JsonArray manifests)
        {
            foreach (var manifest in manifests.OfType<JsonObject>())
            {
                manifest.Remove("annotations");
            }
        }
    }

    private sealed class LoadProgress : IProgress<JSONMessage>
    {
        public string? Error { get; set; }

        public void Report(JSONMessage value)
        {
            if (value.Error is not null)
            {
                Error ??= value.Error.Message;
            }
            else if (!string.IsNullOrEmpty(value.ErrorMessage))
            {
                Error ??= value.ErrorMessage;
            }
        }
    }
}
