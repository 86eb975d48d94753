using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Execution;

/// <summary>
/// The shell every task of this library shares: runs an asynchronous core, turns a
/// <see cref="DtvException"/> into a coded error, and stops child processes when the build is
/// cancelled (Ctrl+C), reporting the cancellation as a failure rather than a success.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001",
    Justification = "MSBuild never disposes tasks; the source holds no unmanaged resource.")]
public abstract class AsyncTask : Microsoft.Build.Utilities.Task, ICancelableTask
{
    private readonly CancellationTokenSource _cancellation = new();

    /// <summary>Creates the task with messages from the library's resource file.</summary>
    protected AsyncTask()
        : base(Messages.Resources)
    {
    }

    /// <summary>Stops the running step; its cleanup still runs.</summary>
    public void Cancel() => _cancellation.Cancel();

    /// <inheritdoc />
    public sealed override bool Execute()
    {
        try
        {
            var work = RunsInUserNamespace && !HostTools.IsRoot
                ? TaskHostClient.RunAsync(this, Log, _cancellation.Token)
                : ExecuteAsync(_cancellation.Token);
            work.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
        {
            Log.LogErrorWithCodeFromResources("Cancelled", GetType().Name);
        }
        catch (DtvException e)
        {
            Log.LogErrorWithCodeFromResources(e.ResourceName, [.. e.Arguments]);
        }
        catch (IOException e) when (DiskFull.Is(e))
        {
            Log.LogErrorWithCodeFromResources("DiskFull", DiskFull.PathIn(e), e.Message);
        }

        return !Log.HasLoggedErrors;
    }

    /// <summary>
    /// Whether the task reads or writes the files of a root filesystem with their owners. In
    /// a build that does not run as root such a task runs in the build's user namespace
    /// (<see cref="UserNamespace"/>), where those files have the owners a root build gives
    /// them.
    /// </summary>
    private protected virtual bool RunsInUserNamespace => false;

    /// <summary>The work of the task.</summary>
    protected abstract System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation);

    /// <summary>The tool runner the task uses; tests replace it.</summary>
    internal IToolRunner? Runner { get; set; }

    /// <summary>The runner to use: the one given, or one that logs into this build.</summary>
    private protected IToolRunner GetRunner() => Runner ??= new ToolRunner(Log);

    /// <summary>Logs the time a stage took, at High importance so users see where time goes.</summary>
    private protected void LogStageTime(string stage, TimeSpan elapsed) =>
        Log.LogMessageFromResources(MessageImportance.High, "StageTime", stage,
            elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture));
}
