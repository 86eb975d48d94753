using System.Globalization;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// The cache of base root filesystems, one entry a recipe digest. An entry is built in a
/// staging directory beside the entries and renamed into place when complete, so an entry
/// that exists is always whole: a crash or a kill leaves at most a staging directory, which a
/// later build removes.
/// </summary>
public sealed class RootfsCache
{
    /// <summary>The file in an entry that records the recipe it was built from.</summary>
    public const string RecipeFileName = "recipe.json";

    /// <summary>The folder in an entry that holds the root filesystem.</summary>
    public const string RootfsFolderName = "rootfs";

    private readonly string _directory;

    /// <summary>Opens (and creates if needed) the cache in the given directory.</summary>
    public RootfsCache(string directory)
    {
        _directory = Path.GetFullPath(directory);
        try
        {
            Directory.CreateDirectory(EntriesDirectory);
            Directory.CreateDirectory(StagingDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DtvException("CacheDirectoryInvalid", directory, e.Message);
        }
    }

    private string EntriesDirectory => Path.Combine(_directory, "rootfs");

    private string StagingDirectory => Path.Combine(_directory, "staging");

    /// <summary>The directory of the entry for a digest, whether or not it exists.</summary>
    public string EntryFor(string digest) => Path.Combine(EntriesDirectory, digest);

    /// <summary>Whether a complete entry exists for the digest.</summary>
    public bool Has(string digest) => File.Exists(Path.Combine(EntryFor(digest), RecipeFileName));

    /// <summary>
    /// Removes staging directories whose builds have ended, then names a new one for this
    /// build. The owning process id is part of the name, so a live build's staging is kept.
    /// </summary>
    public string BeginStaging(string digest)
    {
        foreach (var stale in Directory.EnumerateDirectories(StagingDirectory))
        {
            if (!IsOwnerAlive(Path.GetFileName(stale)))
            {
                Discard(stale);
            }
        }

        var name = string.Create(CultureInfo.InvariantCulture,
            $"{digest[..Math.Min(12, digest.Length)]}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var staging = Path.Combine(StagingDirectory, name);
        Directory.CreateDirectory(staging);
        return staging;
    }

    /// <summary>
    /// Moves a finished staging directory into place as the entry for the digest. When another
    /// build finished the same entry first, that one is kept and this staging is removed.
    /// </summary>
    public string Commit(string staging, string digest, string recipeJson)
    {
        EnsureNothingMounted(staging);
        File.WriteAllText(Path.Combine(staging, RecipeFileName), recipeJson, HostTools.Utf8);

        var entry = EntryFor(digest);
        try
        {
            Directory.Move(staging, entry);
        }
        catch (IOException) when (Has(digest))
        {
            Discard(staging);
        }

        return entry;
    }

    /// <summary>Deletes a staging directory or entry, refusing while anything is mounted in it.</summary>
    public static void Discard(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        EnsureNothingMounted(directory);
        Directory.Delete(directory, recursive: true);
    }

    private static void EnsureNothingMounted(string directory)
    {
        var mounts = MountTable.Below(directory);
        if (mounts.Count > 0)
        {
            throw new DtvException("MountsRemain", mounts[0], directory);
        }
    }

    private static bool IsOwnerAlive(string stagingName)
    {
        var parts = stagingName.Split('-');
        return parts.Length >= 3
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && pid != Environment.ProcessId
            && Directory.Exists($"/proc/{pid}");
    }
}
