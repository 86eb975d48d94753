using System.Text;
using CliWrap;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Task = System.Threading.Tasks.Task;

namespace DockerToVms.Tasks.Execution;

/// <summary>A command to run: the program, its arguments and, if any, standard input.</summary>
/// <param name="Program">The program's name on PATH or its full path.</param>
/// <param name="Arguments">The arguments, each passed as it is (no shell).</param>
public sealed record ToolCommand(string Program, IReadOnlyList<string> Arguments)
{
    /// <summary>Environment variables to set for the process; the rest is inherited.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } =
        new Dictionary<string, string?>();

    /// <summary>
    /// How long a cancelled command gets between SIGINT and being killed. Commands whose
    /// partial results are thrown away anyway are killed at once.
    /// </summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>What the log shows instead of the full command line, when set.</summary>
    public string? Display { get; init; }

    /// <summary>A readable rendering for logs: quoted where a shell would need it.</summary>
    public override string ToString() =>
        Display ?? string.Join(' ', new[] { Program }.Concat(Arguments).Select(Quote));

    private static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>What a finished command left: its exit code and the last lines it printed.</summary>
public sealed record ToolResult(int ExitCode, IReadOnlyList<string> LastLines)
{
    /// <summary>
    /// The first line that said the disk was full, kept even when it scrolled out of the last
    /// lines: a tool that runs out of space usually fails later with another message.
    /// </summary>
    public string? DiskFullLine { get; init; }

    /// <summary>The last lines as one block for an error message.</summary>
    public string Tail => LastLines.Count == 0
        ? "(no output)"
        : System.Environment.NewLine + string.Join(System.Environment.NewLine, LastLines);
}

/// <summary>Runs external tools; a seam so that unit tests can record command lines.</summary>
public interface IToolRunner
{
    /// <summary>Runs the command to its end and returns its exit code and last lines.</summary>
    Task<ToolResult> RunAsync(ToolCommand command, CancellationToken cancellation);

    /// <summary>
    /// Runs the command with its standard output handed to a consumer as a stream (for
    /// example tar's archive, streamed to the Docker daemon); standard error is logged.
    /// </summary>
    Task<ToolResult> RunPipedAsync(ToolCommand command,
        Func<Stream, CancellationToken, Task> consumeOutput, CancellationToken cancellation);

    /// <summary>Finds a program on PATH, or returns null.</summary>
    string? Find(string program);
}

/// <summary>
/// Runs tools the way MSBuild's ToolTask does: the command line at High importance, standard
/// output at Low, standard error at Normal. On cancellation the process gets SIGINT first and
/// is killed if it has not ended within the grace period.
/// </summary>
public sealed class ToolRunner : IToolRunner
{
    private const int KeptLines = 20;
    private readonly TaskLoggingHelper _log;

    /// <summary>Creates a runner that logs into the given task's log.</summary>
    public ToolRunner(TaskLoggingHelper log) => _log = log;

    /// <inheritdoc />
    public Task<ToolResult> RunAsync(ToolCommand command, CancellationToken cancellation) =>
        RunCoreAsync(command, null, cancellation);

    /// <inheritdoc />
    public Task<ToolResult> RunPipedAsync(ToolCommand command,
        Func<Stream, CancellationToken, Task> consumeOutput, CancellationToken cancellation) =>
        RunCoreAsync(command, consumeOutput, cancellation);

    private async Task<ToolResult> RunCoreAsync(ToolCommand command,
        Func<Stream, CancellationToken, Task>? consumeOutput, CancellationToken cancellation)
    {
        _log.LogMessage(MessageImportance.High, command.ToString());
        var tail = new Queue<string>();
        string? diskFull = null;

        void Keep(string line, MessageImportance importance)
        {
            _log.LogMessage(importance, "  {0}", line);
            lock (tail)
            {
                diskFull ??= DiskFull.Matches(line) ? line : null;
                tail.Enqueue(line);
                if (tail.Count > KeptLines)
                {
                    tail.Dequeue();
                }
            }
        }

        var output = consumeOutput is null
            ? PipeTarget.ToDelegate(l => Keep(l, MessageImportance.Low))
            : PipeTarget.Create((stream, token) => consumeOutput(stream, token));

        using var forceful = new CancellationTokenSource();
        using var escalate = cancellation.Register(() => forceful.CancelAfter(command.GracePeriod));
        var result = await Cli.Wrap(command.Program)
            .WithArguments(command.Arguments)
            .WithEnvironmentVariables(command.Environment)
            .WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(output)
            .WithStandardErrorPipe(PipeTarget.ToDelegate(l => Keep(l, MessageImportance.Normal)))
            .ExecuteAsync(forceful.Token, cancellation)
            .ConfigureAwait(false);

        // Ctrl+C in a terminal reaches the whole process group, so the tool may end on SIGINT
        // a moment before MSBuild cancels the task; waiting briefly reports a cancellation
        // as one, not as the tool's failure.
        if (result.ExitCode is 130 or 143 && !cancellation.IsCancellationRequested)
        {
            await Task.WhenAny(Task.Delay(TimeSpan.FromSeconds(3), cancellation))
                .ConfigureAwait(false);
        }

        cancellation.ThrowIfCancellationRequested();
        lock (tail)
        {
            return new ToolResult(result.ExitCode, [.. tail]) { DiskFullLine = diskFull };
        }
    }

    /// <inheritdoc />
    public string? Find(string program) => HostTools.Find(program);
}

/// <summary>Questions about the build machine.</summary>
public static class HostTools
{
    /// <summary>The full path of a program found on PATH (or in the sbin folders), or null.</summary>
    public static string? Find(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(program) ? program : null;
        }

        var path = System.Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var folders = path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/sbin", "/usr/sbin", "/sbin"]);
        return folders.Select(f => Path.Combine(f, program)).FirstOrDefault(File.Exists);
    }

    /// <summary>Whether this process runs as root (effective uid 0).</summary>
    public static bool IsRoot => GetEffectiveUserId() == 0;

    /// <summary>This process's effective user id.</summary>
    public static long UserId => GetEffectiveUserId();

    private static uint GetEffectiveUserId()
    {
        // /proc/self/status lists real, effective, saved and filesystem ids on its Uid line.
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                var ids = line[4..].Split('\t', StringSplitOptions.RemoveEmptyEntries);
                return uint.Parse(ids[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return uint.MaxValue;
    }

    /// <summary>Text as UTF-8 without a byte-order mark.</summary>
    public static readonly Encoding Utf8 = new UTF8Encoding(false);
}
