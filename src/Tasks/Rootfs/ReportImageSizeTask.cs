using System.Globalization;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// Reports after each publish where the image's bytes go: a short table in the build log at
/// High importance and the full report as Markdown in <see cref="ReportFile"/>.
/// </summary>
public sealed class ReportImageSizeTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>The file, beside a cached root filesystem, with the bytes its trim removed.</summary>
    public const string TrimRecordFileName = "trim-removed.txt";

    /// <summary>The image the report is about, for its title.</summary>
    [Required]
    public string Image { get; set; } = string.Empty;

    /// <summary>The cached full root filesystem.</summary>
    [Required]
    public string FullRootDirectory { get; set; } = string.Empty;

    /// <summary>The root filesystem imported as the base; the full one when empty.</summary>
    public string BaseRootDirectory { get; set; } = string.Empty;

    /// <summary>The trim level: none, slim or app.</summary>
    public string TrimLevel { get; set; } = "slim";

    /// <summary>The folder the app was published to.</summary>
    [Required]
    public string PublishDirectory { get; set; } = string.Empty;

    /// <summary>Where to write the Markdown report.</summary>
    [Required]
    public string ReportFile { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        var full = Path.GetFullPath(FullRootDirectory);
        var record = Path.Combine(Path.GetDirectoryName(full)!, TrimRecordFileName);
        long? slim = File.Exists(record) && long.TryParse(File.ReadAllText(record).Trim(),
            NumberStyles.None, CultureInfo.InvariantCulture, out var removed)
                ? removed
                : null;

        var report = ImageSizeReport.Measure(full,
            BaseRootDirectory.Length > 0 ? Path.GetFullPath(BaseRootDirectory) : full,
            TrimLevel, PublishDirectory, slim);

        var path = Path.GetFullPath(ReportFile);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, report.ToMarkdown(Image), HostTools.Utf8);

        Log.LogMessageFromResources(MessageImportance.High, "SizeReportLine",
            $"size of {Image} (MB = 10^6 bytes, uncompressed; full report: {path})");
        foreach (var line in report.Summary())
        {
            Log.LogMessageFromResources(MessageImportance.High, "SizeReportLine", line);
        }

        return System.Threading.Tasks.Task.CompletedTask;
    }
}
