using Docker.DotNet;
using Docker.DotNet.Models;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// Loads an image archive (see <see cref="Archive.ImageArchive"/>) into the daemon through the
/// engine's load endpoint, the one behind <c>docker load</c>. Unlike the import endpoint, it
/// keeps the configuration as written, platform included, on every engine version.
/// </summary>
public static class ImageLoad
{
    /// <summary>Sends the archive and waits until the daemon has stored the image.</summary>
    /// <param name="client">The daemon.</param>
    /// <param name="archive">The archive, read from its current position to its end.</param>
    /// <param name="source">What the image was made from, for an error (DTV3002).</param>
    /// <param name="reference">The image's repository:tag, for an error.</param>
    /// <param name="cancellation">Stops the upload.</param>
    /// <exception cref="DtvException">DTV3002 when the daemon refuses the archive.</exception>
    public static async Task LoadAsync(IDockerClient client, Stream archive, string source,
        string reference, CancellationToken cancellation)
    {
        var progress = new LoadProgress();
        try
        {
            await client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, archive,
                progress, cancellation).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            progress.Fail(e.ResponseBody ?? e.Message);
        }

        if (progress.Error is not null)
        {
            throw new DtvException("ImportFailed", source, reference, progress.Error);
        }
    }

    private sealed class LoadProgress : IProgress<JSONMessage>
    {
        public string? Error { get; private set; }

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
        }

        public void Fail(string message) => Error ??= message;
    }
}
