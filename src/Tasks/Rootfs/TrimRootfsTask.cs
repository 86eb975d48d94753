using System.Diagnostics;
using System.Globalization;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>Removes from a root filesystem what a container never needs.</summary>
public sealed class TrimRootfsTask : AsyncTask
{
    /// <summary>The root filesystem to trim.</summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>How much to remove: <c>none</c> or <c>slim</c> (the default).</summary>
    public string Level { get; set; } = "slim";

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
        RemovedBytes = RootfsTrimmer.Trim(Path.GetFullPath(RootDirectory), level);
        Log.LogMessageFromResources(MessageImportance.Normal, "TrimRemoved",
            (RemovedBytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture));
        LogStageTime("trim", clock.Elapsed);
        return System.Threading.Tasks.Task.CompletedTask;
    }
}
