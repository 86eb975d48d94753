using System.Globalization;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Verify;

/// <summary>
/// A check of the finished app image (a BaseImageCheck item): a command run in a
/// container of the image, without network, and what it must give: an exit code (0 unless
/// <c>ExpectedExitCode</c> says otherwise) and, with <c>ExpectedOutput</c>, a piece of text
/// its standard output or error must contain.
/// </summary>
public sealed record ImageCheck
{
    /// <summary>Metadata: the exit code the command must end with.</summary>
    public const string ExpectedExitCodeMetadata = "ExpectedExitCode";

    /// <summary>Metadata: text the output must contain.</summary>
    public const string ExpectedOutputMetadata = "ExpectedOutput";

    /// <summary>Metadata: seconds the command may take.</summary>
    public const string TimeoutMetadata = "Timeout";

    /// <summary>The seconds a check may take when its item does not say.</summary>
    public const int DefaultTimeout = 60;

    // A POSIX shell's exit code for a command it could not find.
    private const int NotFoundExitCode = 127;

    private const int KeptLines = 20;

    /// <summary>The shell command.</summary>
    public required string Command { get; init; }

    /// <summary>The exit code the command must end with.</summary>
    public int ExpectedExitCode { get; init; }

    /// <summary>Text the output must contain; empty for any output.</summary>
    public string ExpectedOutput { get; init; } = string.Empty;

    /// <summary>Seconds the command may take before it is stopped and the check fails.</summary>
    public int TimeoutSeconds { get; init; } = DefaultTimeout;

    /// <summary>The check an item describes.</summary>
    /// <exception cref="DtvException">DTV9045 when a metadata value is not usable.</exception>
    public static ImageCheck FromItem(ITaskItem item)
    {
        if (Problems(item).FirstOrDefault() is { } problem)
        {
            throw new DtvException(problem.ResourceName, problem.Arguments);
        }

        var exitCode = item.GetMetadata(ExpectedExitCodeMetadata);
        var timeout = item.GetMetadata(TimeoutMetadata);
        return new ImageCheck
        {
            Command = ChrootExecTask.CommandOf(item),
            ExpectedExitCode = exitCode.Length > 0 ? Number(exitCode) : 0,
            ExpectedOutput = item.GetMetadata(ExpectedOutputMetadata),
            TimeoutSeconds = timeout.Length > 0 ? Number(timeout) : DefaultTimeout,
        };
    }

    /// <summary>What is wrong with an item's metadata, for the early check.</summary>
    public static IEnumerable<LintFinding> Problems(ITaskItem item)
    {
        var command = ChrootExecTask.CommandOf(item);
        var exitCode = item.GetMetadata(ExpectedExitCodeMetadata);
        if (exitCode.Length > 0 && !(int.TryParse(exitCode, NumberStyles.None,
            CultureInfo.InvariantCulture, out var code) && code <= 255))
        {
            yield return new LintFinding(true, "CheckMetadataInvalid", command,
                ExpectedExitCodeMetadata, exitCode, "0-255");
        }

        var timeout = item.GetMetadata(TimeoutMetadata);
        if (timeout.Length > 0 && !(int.TryParse(timeout, NumberStyles.None,
            CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 86400))
        {
            yield return new LintFinding(true, "CheckMetadataInvalid", command,
                TimeoutMetadata, timeout, "1-86400");
        }
    }

    /// <summary>
    /// Judges what the command gave. Returns null when the check passed, else the error to
    /// report: the command was not found (DTV6032), the exit code differs (DTV6030), or the
    /// output lacks the expected text (DTV6031).
    /// </summary>
    public DtvException? Evaluate(string image, long exitCode, string output)
    {
        var shown = Tail(output);
        if (exitCode == NotFoundExitCode && ExpectedExitCode != NotFoundExitCode)
        {
            return new DtvException("CheckCommandMissing", Command, image, shown);
        }

        if (exitCode != ExpectedExitCode)
        {
            return new DtvException("CheckExitCode", Command, image, exitCode,
                ExpectedExitCode, shown);
        }

        if (ExpectedOutput.Length > 0 && !output.Contains(ExpectedOutput, StringComparison.Ordinal))
        {
            return new DtvException("CheckOutput", Command, image, ExpectedOutput, shown);
        }

        return null;
    }

    /// <summary>The last lines of the output as a block for a message.</summary>
    public static string Tail(string output)
    {
        var lines = output.Replace("\r\n", "\n", StringComparison.Ordinal)
            .Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines.Count == 0
            ? " (no output)"
            : Environment.NewLine + string.Join(Environment.NewLine,
                lines.Skip(Math.Max(0, lines.Count - KeptLines)));
    }

    /// <summary>
    /// What the container runs: a command with shell syntax (quotes, pipes, redirections,
    /// variables, globs, separators) through <c>/bin/sh -c</c>; a plain one, split at white
    /// space, as the program itself, so that images without a shell can be checked too.
    /// </summary>
    public IReadOnlyList<string> Arguments => NeedsShell(Command)
        ? ["/bin/sh", "-c", Command]
        : Command.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Whether the command uses anything only a shell understands.</summary>
    public static bool NeedsShell(string command) =>
        command.IndexOfAny(['|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '\'',
            '*', '?', '[', ']', '{', '}', '~', '\n', '#']) >= 0;

    /// <summary>
    /// The error for a container that could not start. A program that is not in the image
    /// is reported as such (DTV6032); anything else as a failed start (DTV6034).
    /// </summary>
    public DtvException StartFailure(string image, string error)
    {
        var message = MessageOf(error);
        return message.Contains("executable file not found", StringComparison.Ordinal)
            || message.Contains("no such file or directory", StringComparison.OrdinalIgnoreCase)
            ? new DtvException("CheckCommandMissing", Command, image, Tail(message))
            : new DtvException("CheckStartFailed", Command, image, message);
    }

    // The engine answers with {"message": "..."}; the text inside is what a user needs.
    private static string MessageOf(string error)
    {
        try
        {
            return System.Text.Json.JsonDocument.Parse(error).RootElement
                .GetProperty("message").GetString() ?? error;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException
            or InvalidOperationException or KeyNotFoundException)
        {
            return error;
        }
    }

    /// <summary>The text the check is remembered by: equal checks give equal text.</summary>
    public string ToCanonicalText() => string.Join('\0', Command,
        ExpectedExitCode.ToString(CultureInfo.InvariantCulture), ExpectedOutput,
        TimeoutSeconds.ToString(CultureInfo.InvariantCulture));

    private static int Number(string value) => int.Parse(value, CultureInfo.InvariantCulture);
}
