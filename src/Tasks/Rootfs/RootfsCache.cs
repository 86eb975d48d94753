using System.Globalization;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// The cache of base root filesystems, one entry a recipe digest. An entry is built in a
/// staging directory beside the entries and renamed into place when complete, so an entry
/// that exists is always whole: a crash or a kill leaves at most a staging directory, which a
/// later build removes. While an entry is built its digest's lock is held, so builds of one
/// recipe in other processes wait for it instead of building it again.
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
            Directory.CreateDirectory(LocksDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DtvException("CacheDirectoryInvalid", directory, e.Message);
        }
    }

    private string EntriesDirectory => Path.Combine(_directory, "rootfs");

    private string StagingDirectory => Path.Combine(_directory, "staging");

    private string LocksDirectory => Path.Combine(_directory, "locks");

    /// <summary>The directory of the entry for a digest, whether or not it exists.</summary>
    public string EntryFor(string digest) => Path.Combine(EntriesDirectory, digest);

    /// <summary>Whether a complete entry exists for the digest.</summary>
    public bool Has(string digest) => File.Exists(Path.Combine(EntryFor(digest), RecipeFileName));

    /// <summary>The lock file that guards the entry for a digest while it is being built.</summary>
    public string LockFileFor(string digest) => Path.Combine(LocksDirectory, digest + ".lock");

    /// <summary>
    /// Waits until no other build works on the entry for the digest, and takes it over. Two
    /// builds of one recipe thus bootstrap once: the second waits here, then finds the entry.
    /// Builds of other recipes take other locks and do not wait.
    /// </summary>
    public Task<CacheLock> LockAsync(string digest, Action<string> waiting,
        CancellationToken cancellation) =>
        CacheLock.AcquireAsync(LockFileFor(digest), "building " + digest[..Math.Min(12,
            digest.Length)], waiting, cancellation);

    /// <summary>
    /// Removes staging directories whose builds have ended, then names a new one for this
    /// build; the caller holds the digest's lock. A staging directory is in use only while
    /// its digest's lock is held, so one whose lock is free (or is this build's own) was
    /// left by a build that died.
    /// </summary>
    public string BeginStaging(string digest)
    {
        foreach (var stale in Directory.EnumerateDirectories(StagingDirectory))
        {
            var owner = DigestOf(stale);
            if (owner == digest)
            {
                Discard(stale);
                continue;
            }

            using var probe = CacheLock.TryAcquire(LockFileFor(owner));
            if (probe is not null)
            {
                Discard(stale);
            }
        }

        var name = string.Create(CultureInfo.InvariantCulture,
            $"{digest}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var staging = Path.Combine(StagingDirectory, name);
        Directory.CreateDirectory(staging);
        return staging;
    }

    /// <summary>
    /// Fails with DTV9011 when the cache's file system has less free space than a bootstrap
    /// needs, before anything is downloaded; 0 megabytes turns the check off.
    /// </summary>
    public void EnsureFreeSpace(long megabytes)
    {
        if (megabytes <= 0)
        {
            return;
        }

        var free = new DriveInfo(StagingDirectory).AvailableFreeSpace / 1048576;
        if (free < megabytes)
        {
            throw new DtvException("CacheSpaceLow", _directory, free, megabytes);
        }
    }

    /// <summary>
    /// Moves a finished staging directory into place as the entry for the digest. When another
    /// build finished the same entry first, that one is kept and this staging is removed.
    /// </summary>
    public string Commit(string staging, string digest, string recipeJson)
    {
        EnsureNothingMounted(staging);
        File.WriteAllText(Path.Combine(staging, RecipeFileName), recipeJson, HostTools.Utf8);

        // Only a hand-made copy or a deleted recipe leaves an entry without its recipe; the
        // caller holds the lock, so it is replaced rather than trusted.
        var entry = EntryFor(digest);
        if (Directory.Exists(entry) && !Has(digest))
        {
            Discard(entry);
        }

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

        // An ordinary user's root filesystems hold files of its subordinate ids, which only the
        // user namespace's root can delete.
        if (HostTools.IsRoot)
        {
            Directory.Delete(directory, recursive: true);
        }
        else
        {
            UserNamespace.DeleteTree(directory);
        }
    }

    private static void EnsureNothingMounted(string directory)
    {
        var mounts = MountTable.Below(directory);
        if (mounts.Count > 0)
        {
            throw new DtvException("MountsRemain", mounts[0], directory);
        }
    }

    // Staging directories are named digest-pid-guid; the digest names the lock that guards them.
    private static string DigestOf(string staging) => Path.GetFileName(staging).Split('-')[0];
}
