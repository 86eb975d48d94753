using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Tests.Infrastructure;

/// <summary>
/// A tool runner that runs nothing: it records each command, answers it with a given
/// function, and reports every program as installed except the ones named missing.
/// </summary>
internal sealed class FakeToolRunner : IToolRunner
{
    private readonly Func<ToolCommand, ToolResult> _answer;
    private readonly HashSet<string> _missing;

    /// <summary>Creates the runner; without an answer every command exits with 0.</summary>
    public FakeToolRunner(Func<ToolCommand, ToolResult>? answer = null,
        params string[] missing)
    {
        _answer = answer ?? (_ => new ToolResult(0, []));
        _missing = new HashSet<string>(missing, StringComparer.Ordinal);
    }

    /// <summary>The commands run, in order.</summary>
    public List<ToolCommand> Commands { get; } = [];

    /// <summary>The programs looked up, in order.</summary>
    public List<string> Lookups { get; } = [];

    /// <summary>What a piped command writes to its standard output; nothing when null.</summary>
    public Func<ToolCommand, byte[]>? PipedOutput { get; init; }

    public Task<ToolResult> RunAsync(ToolCommand command, CancellationToken cancellation)
    {
        Commands.Add(command);
        return Task.FromResult(_answer(command));
    }

    public async Task<ToolResult> RunPipedAsync(ToolCommand command,
        Func<Stream, CancellationToken, Task> consumeOutput, CancellationToken cancellation)
    {
        Commands.Add(command);
        if (PipedOutput is not null)
        {
            using var output = new MemoryStream(PipedOutput(command), writable: false);
            await consumeOutput(output, cancellation);
        }

        return _answer(command);
    }

    public string? Find(string program)
    {
        Lookups.Add(program);
        return _missing.Contains(program) ? null : "/usr/bin/" + program;
    }
}
