using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace DockerToVms.Tasks.Docker;

/// <summary>Small questions to the daemon about images.</summary>
public static class ImageQueries
{
    /// <summary>The image's details, or null when the daemon has no such image.</summary>
    public static async Task<ImageInspectResponse?> TryInspectAsync(IDockerClient client,
        string reference, CancellationToken cancellation)
    {
        try
        {
            return await client.Images.InspectImageAsync(reference, cancellation)
                .ConfigureAwait(false);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>A label of the image's configuration, or null.</summary>
    public static string? Label(ImageInspectResponse image, string name) =>
        image.Config?.Labels is { } labels && labels.TryGetValue(name, out var value)
            ? value
            : null;
}
