using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Tests.Infrastructure;

/// <summary>
/// A build engine for running a task outside MSBuild: it keeps every error, warning and
/// message the task logs, so that tests can assert on codes and importance.
/// </summary>
public sealed class RecordingBuildEngine : IBuildEngine
{
    private readonly object _gate = new();

    /// <summary>The errors logged, in order.</summary>
    public List<BuildErrorEventArgs> Errors { get; } = [];

    /// <summary>The warnings logged, in order.</summary>
    public List<BuildWarningEventArgs> Warnings { get; } = [];

    /// <summary>The messages logged, in order.</summary>
    public List<BuildMessageEventArgs> Messages { get; } = [];

    /// <summary>The codes of the errors logged, such as <c>DTV4005</c>.</summary>
    public IReadOnlyList<string> ErrorCodes
    {
        get
        {
            lock (_gate)
            {
                return [.. Errors.Select(e => e.Code)];
            }
        }
    }

    /// <summary>The codes of the warnings logged.</summary>
    public IReadOnlyList<string> WarningCodes
    {
        get
        {
            lock (_gate)
            {
                return [.. Warnings.Select(w => w.Code)];
            }
        }
    }

    /// <summary>Everything logged, one line each, for assertion messages.</summary>
    public string Log
    {
        get
        {
            lock (_gate)
            {
                return string.Join(Environment.NewLine, Errors.Select(e => "error " + e.Message)
                    .Concat(Warnings.Select(w => "warning " + w.Message))
                    .Concat(Messages.Select(m => "message " + m.Message)));
            }
        }
    }

    /// <inheritdoc />
    public bool ContinueOnError => false;

    /// <inheritdoc />
    public int LineNumberOfTaskNode => 0;

    /// <inheritdoc />
    public int ColumnNumberOfTaskNode => 0;

    /// <inheritdoc />
    public string ProjectFileOfTaskNode => "test.proj";

    /// <inheritdoc />
    public bool BuildProjectFile(string projectFileName, string[] targetNames,
        System.Collections.IDictionary globalProperties,
        System.Collections.IDictionary targetOutputs) =>
        throw new NotSupportedException("Tasks under test do not build other projects.");

    /// <inheritdoc />
    public void LogCustomEvent(CustomBuildEventArgs e)
    {
    }

    /// <inheritdoc />
    public void LogErrorEvent(BuildErrorEventArgs e)
    {
        lock (_gate)
        {
            Errors.Add(e);
        }
    }

    /// <inheritdoc />
    public void LogMessageEvent(BuildMessageEventArgs e)
    {
        lock (_gate)
        {
            Messages.Add(e);
        }
    }

    /// <inheritdoc />
    public void LogWarningEvent(BuildWarningEventArgs e)
    {
        lock (_gate)
        {
            Warnings.Add(e);
        }
    }
}
