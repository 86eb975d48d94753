using System.Diagnostics;

namespace DockerToVms.IntegrationTests.Infrastructure;

/// <summary>Runs a command line tool for a test and returns what it printed.</summary>
public static class Tool
{
    /// <summary>Runs the program; throws with its output when it exits non-zero.</summary>
    public static async Task<string> RunAsync(string program, params string[] arguments)
    {
        var (code, output) = await TryRunAsync(program, arguments);
        return code == 0
            ? output
            : throw new InvalidOperationException(
                $"{program} {string.Join(' ', arguments)} exited with {code}:\n{output}");
    }

    /// <summary>Runs the program and returns its exit code and its combined output.</summary>
    public static async Task<(int ExitCode, string Output)> TryRunAsync(string program,
        params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}
