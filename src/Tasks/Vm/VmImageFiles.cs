namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Disk and ISO images are written under a name of their own and renamed when complete, so
/// that a failed or cancelled build never leaves a file under the image's name that looks
/// finished but is cut short. A tool stopped late may still write to the partial file; it
/// is removed, and the image's own name is never touched by it.
/// </summary>
internal static class VmImageFiles
{
    /// <summary>The name an image is written under until it is complete.</summary>
    public static string PartialName(string path) => path + ".partial";

    /// <summary>Gives the complete image its name, replacing an older image.</summary>
    public static void Complete(string partial, string path) =>
        File.Move(partial, path, overwrite: true);

    /// <summary>Removes a partial image that was not completed; nothing when there is none.</summary>
    public static void Discard(string partial)
    {
        if (partial.Length > 0 && File.Exists(partial))
        {
            File.Delete(partial);
        }
    }
}
