using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Execution;

/// <summary>
/// Runs a task in the user namespace of an ordinary user's build. A process cannot enter a
/// new user namespace once it has threads, and MSBuild's has many, so the task runs in a
/// small host process started there with unshare: the host is given the task's parameters,
/// runs it as the namespace's root, and sends back its log events, which are logged here as
/// the task's own, and its outputs, which are set on the task here.
/// </summary>
public static class TaskHostClient
{
    /// <summary>The host's file name, next to the task assembly.</summary>
    public const string HostFileName = "DockerToVms.TaskHost.dll";

    // 1 once this process has found that the user can make the namespace.
    private static int s_namespaceUsable;

    // A cancelled host gets this long to stop its tools and clean up before it is killed.
    private static readonly TimeSpan s_cancelGrace = TimeSpan.FromSeconds(60);

    /// <summary>Runs <paramref name="task"/> in the host and waits for it.</summary>
    /// <exception cref="DtvException">DTV9071 when the user cannot make the namespace,
    /// DTV2102 when the host ended without a result.</exception>
    public static async System.Threading.Tasks.Task RunAsync(ITask task, TaskLoggingHelper log,
        CancellationToken cancellation)
    {
        var host = Path.Combine(
            Path.GetDirectoryName(typeof(TaskHostClient).Assembly.Location)!, HostFileName);
        var step = task.GetType().Name;
        if (!File.Exists(host))
        {
            throw new DtvException("NamespaceStepFailed", step, Environment.UserName, "-",
                host + " is missing from the package");
        }

        // What keeps the namespace from being made is named here, with its fixes, rather
        // than left to unshare's own message. A machine that passed once passes for the rest
        // of the build, so the check (which starts unshare) runs once, not once a step.
        if (Volatile.Read(ref s_namespaceUsable) == 0)
        {
            new UserNamespaceCheck().Require(HostTools.Find);
            Volatile.Write(ref s_namespaceUsable, 1);
        }

        // The host finds MSBuild's assemblies where this build loaded them from.
        var command = UserNamespace.Wrap(DotnetPath(), new[]
        {
            "exec", host,
            Path.GetDirectoryName(typeof(ITask).Assembly.Location)!,
            Path.GetDirectoryName(typeof(TaskLoggingHelper).Assembly.Location)!,
        });
        log.LogMessage(MessageImportance.Low, $"{step} runs in the user namespace: {command}");

        var start = new ProcessStartInfo(command.Program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory.GetCurrentDirectory(),
        };
        foreach (var argument in command.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var errors = new Queue<string>();
        var stderr = System.Threading.Tasks.Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                log.LogMessage(MessageImportance.Normal, line);
                lock (errors)
                {
                    errors.Enqueue(line);
                    if (errors.Count > 20)
                    {
                        errors.Dequeue();
                    }
                }
            }
        }, CancellationToken.None);

        await process.StandardInput.WriteLineAsync(TaskHostProtocol.WriteRequest(task,
            start.WorkingDirectory)).ConfigureAwait(false);
        await process.StandardInput.FlushAsync(CancellationToken.None).ConfigureAwait(false);

        // Closing the host's input is its signal to cancel the task.
        using var registration = cancellation.Register(() => System.Threading.Tasks.Task.Run(() =>
        {
            try
            {
                process.StandardInput.Close();
                if (!process.WaitForExit(s_cancelGrace))
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                // The host has ended already.
            }
        }));

        JsonObject? outputs = null;
        while (await process.StandardOutput.ReadLineAsync(CancellationToken.None)
            .ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith('{') && JsonNode.Parse(line) is JsonObject json)
            {
                outputs = TaskHostProtocol.Replay(json, log) ?? outputs;
            }
            else
            {
                log.LogMessage(MessageImportance.Normal, line);
            }
        }

        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        await stderr.ConfigureAwait(false);
        if (outputs is null)
        {
            cancellation.ThrowIfCancellationRequested();
            throw new DtvException("NamespaceStepFailed", step, Environment.UserName,
                process.ExitCode.ToString(CultureInfo.InvariantCulture),
                string.Join(Environment.NewLine, errors));
        }

        TaskHostProtocol.ReadOutputs(outputs, task);
    }

    // The SDK tells tasks which dotnet runs the build; without it, the one on PATH.
    private static string DotnetPath() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path
            && File.Exists(path)
            ? path
            : HostTools.Find("dotnet") ?? "dotnet";
}
