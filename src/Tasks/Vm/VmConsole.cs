using System.Globalization;
using System.Text.RegularExpressions;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Boots a VM in QEMU and follows its serial console until the machine powers off: every
/// console line goes to the given log, and the init's last line gives the app's exit code.
/// A time limit, when set, ends a machine that runs too long (QEMU is killed and reaped).
/// </summary>
public sealed partial class VmConsole
{
    private readonly IToolRunner _runner;
    private readonly Action<string> _log;

    /// <summary>Creates the console; lines go to <paramref name="log"/>.</summary>
    public VmConsole(IToolRunner runner, Action<string> log)
    {
        _runner = runner;
        _log = log;
    }

    /// <summary>Runs the machine to its end and returns the app's exit code.</summary>
    /// <exception cref="DtvException">DTV5006 without QEMU, DTV5010 at the time limit,
    /// DTV5012 when the machine ended without the app's exit line.</exception>
    public async Task<int> RunAsync(QemuCommand.Machine machine, TimeSpan timeout,
        CancellationToken cancellation)
    {
        var program = QemuCommand.ProgramFor(machine.Architecture);
        if (_runner.Find(program) is null)
        {
            throw new DtvException("VmQemuMissing", program,
                QemuCommand.PackageFor(machine.Architecture));
        }

        int? exitCode = null;
        var last = new Queue<string>();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        if (timeout > TimeSpan.Zero)
        {
            limit.CancelAfter(timeout);
        }

        ToolResult result;
        try
        {
            result = await _runner.RunPipedAsync(
                new ToolCommand(program, QemuCommand.Arguments(machine))
                {
                    GracePeriod = TimeSpan.FromSeconds(2),
                },
                async (stream, token) =>
                {
                    using var reader = new StreamReader(stream);
                    while (await reader.ReadLineAsync(token).ConfigureAwait(false) is { } line)
                    {
                        // Serial consoles end lines with CR LF and may carry escape codes.
                        var text = Printable().Replace(line, string.Empty);
                        _log(text);
                        last.Enqueue(text);
                        if (last.Count > 20)
                        {
                            last.Dequeue();
                        }

                        exitCode = ExitCodeIn(text) ?? exitCode;
                    }
                },
                limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            throw new DtvException("VmTimedOut", timeout.TotalSeconds, Tail(last));
        }

        return exitCode ?? throw new DtvException("VmEndedWithoutApp", result.ExitCode,
            Tail(last));
    }

    /// <summary>The app's exit code from the init's last line, or null for another line.</summary>
    public static int? ExitCodeIn(string line)
    {
        var match = ExitLine().Match(line);
        return match.Success
            ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
            : null;
    }

    private static string Tail(IEnumerable<string> lines) =>
        Environment.NewLine + string.Join(Environment.NewLine, lines);

    [GeneratedRegex(@"dockertovms: app exited with code (\d+)")]
    private static partial Regex ExitLine();

    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1bc|[\r\x00]")]
    private static partial Regex Printable();
}
