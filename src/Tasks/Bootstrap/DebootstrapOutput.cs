using System.Text.RegularExpressions;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Bootstrap;

/// <summary>What a failed debootstrap (or mmdebstrap) run's last lines say went wrong.</summary>
public enum DebootstrapFailureKind
{
    /// <summary>Nothing this library recognises; reported with debootstrap's own lines.</summary>
    Other,

    /// <summary>The file system filled up.</summary>
    DiskFull,

    /// <summary>The archive's signature did not check out against the keyring.</summary>
    Signature,

    /// <summary>A download failed in a way that may pass: a reset, a time-out, a 5xx answer.</summary>
    Download,
}

/// <summary>A classified debootstrap failure: its kind, the line that shows it, and a URL.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Line">The line of output that shows it.</param>
/// <param name="Url">The last URL the output names, or an empty string.</param>
public sealed record DebootstrapFailure(DebootstrapFailureKind Kind, string Line, string Url);

/// <summary>
/// Reads debootstrap's output. debootstrap retries a download only when its checksum is
/// wrong, not when the transfer fails, so a reset connection or a 503 from a busy mirror ends
/// the whole bootstrap; such failures are told apart here so that the task can run it again.
/// </summary>
public static partial class DebootstrapOutput
{
    // debootstrap's own messages for a bad or uncheckable Release signature.
    private static readonly string[] s_signature =
    [
        "Release signed by unknown key", "Invalid Release signature",
        "Error executing gpgv", "Keyring-based check was requested",

        // apt's, as mmdebstrap runs it.
        "NO_PUBKEY", "signatures couldn't be verified", "signatures were invalid",
        "is not signed",
    ];

    // debootstrap's messages for a failed download, and wget's for failures that may pass.
    private static readonly string[] s_download =
    [
        "Couldn't download", "Failed getting release", "Connection reset",
        "Connection closed", "Read error", "No data received", "Connection timed out",
        "Unable to establish", "Temporary failure in name resolution", "Connection refused",

        // apt's, as mmdebstrap runs it.
        "Could not connect", "Temporary failure resolving", "Connection failed",
        "Could not resolve", "Undetermined Error",
    ];

    private static readonly string[] s_aptNoSpace = ["You don't have enough free space in"];

    /// <summary>Where debootstrap keeps the output of wget, tar and dpkg, inside the target.</summary>
    public const string LogFile = "debootstrap/debootstrap.log";

    private const int KeptLogLines = 40;

    /// <summary>
    /// The last lines of debootstrap's own log in the target, or none. debootstrap prints only
    /// its summaries ("Couldn't download packages: ..."); the tools' reasons (a full disk, an
    /// HTTP status) are in this log.
    /// </summary>
    public static IReadOnlyList<string> ReadLog(string targetDirectory)
    {
        var log = Path.Combine(targetDirectory, LogFile);
        try
        {
            return File.Exists(log) ? [.. File.ReadLines(log).TakeLast(KeptLogLines)] : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// Classifies the output of a debootstrap run that failed, with the last lines of its log
    /// (<see cref="ReadLog"/>) read before its own.
    /// </summary>
    public static DebootstrapFailure Classify(ToolResult result, IReadOnlyList<string> log)
    {
        result = result with { LastLines = [.. log, .. result.LastLines] };
        var url = result.LastLines.Select(l => UrlPattern().Matches(l))
            .SelectMany(m => m.Select(x => x.Value.TrimEnd(':', ',', '.')))
            .LastOrDefault() ?? string.Empty;

        // apt checks the space for its downloads before it starts them, in its own words.
        if ((DiskFull.LineIn(result) ?? Find(result, s_aptNoSpace)) is { } full)
        {
            return new(DebootstrapFailureKind.DiskFull, full, url);
        }

        if (Find(result, s_signature) is { } signature)
        {
            return new(DebootstrapFailureKind.Signature, signature, url);
        }

        // The last HTTP status wget reported decides: a server error (5xx) may pass, a missing
        // file (404 and the like) will not. Without one, the connection itself failed.
        var status = result.LastLines.LastOrDefault(l => HttpErrorPattern().IsMatch(l));
        if (status is not null)
        {
            var match = HttpErrorPattern().Match(status);
            var code = int.Parse(match.Groups[1].Success
                    ? match.Groups[1].Value
                    : match.Groups[2].Value,
                System.Globalization.CultureInfo.InvariantCulture);
            return new(code >= 500 || code is 408 or 429
                ? DebootstrapFailureKind.Download
                : DebootstrapFailureKind.Other, status, url);
        }

        if (Find(result, s_download) is { } download)
        {
            return new(DebootstrapFailureKind.Download, download, url);
        }

        var last = result.LastLines.Count > 0 ? result.LastLines[^1] : string.Empty;
        return new(DebootstrapFailureKind.Other, last, url);
    }

    private static string? Find(ToolResult result, string[] needles) =>
        result.LastLines.LastOrDefault(l =>
            needles.Any(n => l.Contains(n, StringComparison.OrdinalIgnoreCase)));

    [GeneratedRegex(@"(?:https?|ftp)://\S+")]
    private static partial Regex UrlPattern();

    // wget's "ERROR 503: ..." for debootstrap; apt's "Failed to fetch URL  503  ..." for
    // mmdebstrap.
    [GeneratedRegex(@"ERROR (\d{3})\b|Failed to fetch \S+\s+(\d{3})\s")]
    private static partial Regex HttpErrorPattern();
}
