using System.Collections;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Execution;

/// <summary>
/// The task host's side: runs one task, as the build asked for it, in the process the host
/// started in the user namespace, and writes what the task logs and outputs back as lines.
/// The build closes the host's input to cancel the task; that also happens when the build
/// itself dies, so a host never works on for a build that is gone.
/// </summary>
public static class TaskHostServer
{
    /// <summary>Reads the request, runs the task, and reports its events and outputs.</summary>
    /// <returns>The process's exit code: 0 when the task succeeded.</returns>
    public static int Serve(TextReader input, TextWriter events)
    {
        var request = input.ReadLine();
        if (request is null)
        {
            return 2;
        }

        var (task, directory) = TaskHostProtocol.ReadRequest(request);
        Directory.SetCurrentDirectory(directory);
        var engine = new EventWriter(events);
        task.BuildEngine = engine;

        var watcher = new Thread(() =>
        {
            try
            {
                input.ReadToEnd();
            }
            catch (IOException)
            {
                // A broken pipe means the same as its end: the build is gone.
            }

            (task as ICancelableTask)?.Cancel();
        })
        {
            IsBackground = true,
            Name = "build input",
        };
        watcher.Start();

        bool succeeded;
        try
        {
            succeeded = task.Execute();
        }
        catch (Exception e)
        {
            // MSBuild would report a task's unexpected exception with its stack; the host
            // does the same through the build's log rather than dying with it.
            var log = new Microsoft.Build.Utilities.TaskLoggingHelper(engine,
                task.GetType().Name)
            {
                TaskResources = Messages.Resources,
            };
            log.LogErrorWithCodeFromResources("NamespaceStepCrashed", task.GetType().Name, e);
            succeeded = false;
        }

        engine.Write(TaskHostProtocol.WriteOutputs(task));
        return succeeded ? 0 : 1;
    }

    // Every event becomes one line; tasks log from the threads that read their tools' output,
    // so lines are written one at a time.
    private sealed class EventWriter(TextWriter events) : IBuildEngine
    {
        private readonly object _gate = new();

        public bool ContinueOnError => false;

        public int LineNumberOfTaskNode => 0;

        public int ColumnNumberOfTaskNode => 0;

        // Empty, so that the build puts its own project file and line on replayed events.
        public string ProjectFileOfTaskNode => string.Empty;

        public void Write(string line)
        {
            lock (_gate)
            {
                events.WriteLine(line);
                events.Flush();
            }
        }

        public bool BuildProjectFile(string projectFileName, string[] targetNames,
            IDictionary globalProperties, IDictionary targetOutputs) => false;

        public void LogCustomEvent(CustomBuildEventArgs e) =>
            Write(TaskHostProtocol.WriteMessage(MessageImportance.Low, e.Message));

        public void LogErrorEvent(BuildErrorEventArgs e) =>
            Write(TaskHostProtocol.WriteDiagnostic(TaskHostProtocol.Error, e.Code, e.File,
                e.LineNumber, e.ColumnNumber, e.Message));

        public void LogMessageEvent(BuildMessageEventArgs e) =>
            Write(TaskHostProtocol.WriteMessage(e.Importance, e.Message));

        public void LogWarningEvent(BuildWarningEventArgs e) =>
            Write(TaskHostProtocol.WriteDiagnostic(TaskHostProtocol.Warning, e.Code, e.File,
                e.LineNumber, e.ColumnNumber, e.Message));
    }
}
