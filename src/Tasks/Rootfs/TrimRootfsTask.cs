using System.Diagnostics;
using System.Globalization;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>Removes from a root filesystem what a container never needs.</summary>
public sealed class TrimRootfsTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>The root filesystem to trim.</summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>
    /// How much to remove: <c>none</c>, <c>slim</c> (the default) or <c>app</c>, which trims
    /// as <c>slim</c> does here; the app's own base is derived after publish.
    /// </summary>
    public string Level { get; set; } = "slim";

    /// <summary>
    /// Where to save the names of the archive's packages before apt's lists are removed
    /// (used to name the package a missing library is in); empty to save none.
    /// </summary>
    public string PackageIndexFile { get; set; } = string.Empty;

    /// <summary>Where to record how many bytes the trim removed; empty to record nothing.</summary>
    public string RecordFile { get; set; } = string.Empty;

    /// <summary>
    /// SOURCE_DATE_EPOCH, seconds since 1970: dates the password changes in /etc/shadow, so
    /// that bootstraps on different days give the same files. Empty leaves them as they are.
    /// </summary>
    public string SourceDateEpoch { get; set; } = string.Empty;

    /// <summary>The number of bytes the trim removed.</summary>
    [Output]
    public long RemovedBytes { get; private set; }

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        var level = RootfsTrimmer.Parse(Level);
        if (!File.Exists(Path.Combine(RootDirectory, "bin/sh"))
            && !File.Exists(Path.Combine(RootDirectory, "usr/bin/sh")))
        {
            throw new DtvException("RootfsMissing", RootDirectory);
        }

        var clock = Stopwatch.StartNew();
        if (PackageIndexFile.Length > 0)
        {
            PackageIndex.Save(RootDirectory, PackageIndexFile);
        }

        var sourceDate = Docker.Archive.LayerTarWriter.ParseEpoch(SourceDateEpoch.Trim());
        if (SourceDateEpoch.Trim().Length > 0 && sourceDate is null)
        {
            throw new DtvException("SourceDateEpochInvalid", SourceDateEpoch);
        }

        RemovedBytes = RootfsTrimmer.Trim(Path.GetFullPath(RootDirectory), level);
        RootfsNormaliser.Normalise(Path.GetFullPath(RootDirectory), level, sourceDate);
        if (RecordFile.Length > 0)
        {
            File.WriteAllText(RecordFile,
                RemovedBytes.ToString(CultureInfo.InvariantCulture) + "\n", HostTools.Utf8);
        }

        Log.LogMessageFromResources(MessageImportance.Normal, "TrimRemoved",
            (RemovedBytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture));
        LogStageTime("trim", clock.Elapsed);
        return System.Threading.Tasks.Task.CompletedTask;
    }
}
