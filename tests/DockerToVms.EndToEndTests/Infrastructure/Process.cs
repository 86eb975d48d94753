using System.Diagnostics;
using System.Text;

namespace DockerToVms.EndToEndTests.Infrastructure;

/// <summary>What a finished command printed and how it ended.</summary>
public sealed record CommandResult(string CommandLine, int ExitCode, string Output)
{
    /// <summary>The DTV codes of the errors MSBuild reported.</summary>
    public IReadOnlyList<string> ErrorCodes =>
        [.. System.Text.RegularExpressions.Regex.Matches(Output, @"error (DTV\d{4}):")
            .Select(m => m.Groups[1].Value).Distinct()];

    /// <summary>The last lines of the output, for assertion messages.</summary>
    public string Tail
    {
        get
        {
            var lines = Output.Split('\n');
            return $"{CommandLine} exited with {ExitCode}:\n"
                + string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 60)));
        }
    }
}

/// <summary>Runs the commands a user would type, with output kept for the assertions.</summary>
public static class Shell
{
    /// <summary>Runs a program in a directory, with a clean MSBuild node per build.</summary>
    public static async Task<CommandResult> RunAsync(string directory, string program,
        params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        // A reused MSBuild node would keep an older copy of the task assembly loaded.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        // A value no recipe asks for: ImageLeaks fails a test whose images carry it.
        start.Environment[BuildCanary.Name] = BuildCanary.Value;

        var output = new StringBuilder();
        using var process = new System.Diagnostics.Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync();
        lock (output)
        {
            return new CommandResult($"{program} {string.Join(' ', arguments)}",
                process.ExitCode, output.ToString());
        }
    }

    /// <summary>Runs a program and fails the test if it does not succeed.</summary>
    public static async Task<string> CheckAsync(string directory, string program,
        params string[] arguments)
    {
        var result = await RunAsync(directory, program, arguments);
        Assert.AreEqual(0, result.ExitCode, result.Tail);
        return result.Output;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
