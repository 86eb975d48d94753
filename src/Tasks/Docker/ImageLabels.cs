namespace DockerToVms.Tasks.Docker;

/// <summary>The labels this library puts on images to recognise what it made.</summary>
public static class ImageLabels
{
    /// <summary>On a base image: the digest of the recipe it was built from.</summary>
    public const string Recipe = "dev.dockertovms.base.recipe";

    /// <summary>On an app image: the digest of the base, the app files and the settings.</summary>
    public const string AppDigest = "dev.dockertovms.app.digest";
}
