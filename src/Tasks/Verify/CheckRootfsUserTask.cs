using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Verify;

/// <summary>
/// Checks, once the base is customised, that the user the app is to run as (ContainerUser)
/// exists in it. A base started from another image may lack the account the recipe did not
/// create; the app image would then fail only when it starts.
/// </summary>
public sealed class CheckRootfsUserTask : AsyncTask
{
    /// <summary>The customised root filesystem.</summary>
    [Required]
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>The user the app runs as: a name or uid, optionally with <c>:group</c>.</summary>
    public string User { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        RootfsAccounts.Check(RootDirectory, User);
        return System.Threading.Tasks.Task.CompletedTask;
    }
}
