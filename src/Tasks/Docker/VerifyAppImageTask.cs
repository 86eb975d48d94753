using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// Runs a freshly built app image once, without network, to catch a library an
/// <c>app</c>-level base left out that only shows when the app starts (one it loads by name).
/// An app still running after the timeout has started; one that exits is judged by what it
/// printed, not by its exit code, since many apps exit non-zero without their arguments. A
/// failed image is removed, so the next publish builds and checks it again.
/// </summary>
public sealed class VerifyAppImageTask : AsyncTask
{
    /// <summary>The variable set in the verification run, so an app can tell and exit early.</summary>
    public const string MarkerVariable = "DOCKERTOVMS_VERIFY";

    /// <summary>The app image, by id or reference.</summary>
    [Required]
    public string Image { get; set; } = string.Empty;

    /// <summary>The image's name for messages, such as <c>myapp:latest</c>.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Arguments for the run instead of the image's default ones, if any.</summary>
    public ITaskItem[] Arguments { get; set; } = [];

    /// <summary>Seconds after which a running app is taken as started. Defaults to 5.</summary>
    public int Timeout { get; set; } = 5;

    /// <summary>The image's Debian architecture; another than the machine's is not run.</summary>
    public string Architecture { get; set; } = string.Empty;

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        if (Architecture.Length > 0 && Architecture != DebianArchitecture.Host)
        {
            Log.LogMessageFromResources(MessageImportance.Normal, "VerifySkipped", Shown,
                Architecture, DebianArchitecture.Host);
            return;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var client = await DockerConnection.OpenAsync(DockerHost, cancellation)
            .ConfigureAwait(false);
        var container = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = BuildContainers.NewName(),
            Image = Image,
            Cmd = Arguments.Length > 0 ? [.. Arguments.Select(a => a.ItemSpec)] : null,
            Env = [MarkerVariable + "=1"],
            NetworkDisabled = true,
            HostConfig = new HostConfig { NetworkMode = "none" },
        }, cancellation).ConfigureAwait(false);

        try
        {
            var outcome = await RunAsync(client, container.ID, cancellation)
                .ConfigureAwait(false);
            Log.LogMessageFromResources(MessageImportance.High, "VerifyPassed", Shown, outcome);
            LogStageTime("verification run", clock.Elapsed);
        }
        finally
        {
            await client.Containers.RemoveContainerAsync(container.ID,
                new ContainerRemoveParameters { Force = true }, CancellationToken.None)
                .ConfigureAwait(false);
        }
    }

    private async Task<string> RunAsync(DockerClient client, string id,
        CancellationToken cancellation)
    {
        try
        {
            await client.Containers.StartContainerAsync(id, new ContainerStartParameters(),
                cancellation).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            await RemoveImageAsync(client).ConfigureAwait(false);
            throw new DtvException("VerifyStartFailed", Shown,
                (e.ResponseBody ?? e.Message).Trim());
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        limit.CancelAfter(TimeSpan.FromSeconds(Math.Max(1, Timeout)));
        ContainerWaitResponse exit;
        try
        {
            exit = await client.Containers.WaitContainerAsync(id, limit.Token)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return string.Format(CultureInfo.InvariantCulture, "it was still running after {0} s",
                Math.Max(1, Timeout));
        }

        using var logs = await client.Containers.GetContainerLogsAsync(id, false,
            new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = "40" },
            cancellation).ConfigureAwait(false);
        var (stdout, stderr) = await logs.ReadOutputToEndAsync(cancellation).ConfigureAwait(false);
        var output = stdout + stderr;
        if (StartupFailure.MissingLibrary(output) is { } library)
        {
            await RemoveImageAsync(client).ConfigureAwait(false);
            throw new DtvException("VerifyLibraryMissing", Shown, library,
                Environment.NewLine + output.TrimEnd());
        }

        return string.Format(CultureInfo.InvariantCulture, "it exited with code {0}",
            exit.StatusCode);
    }

    private string Shown => Name.Length > 0 ? Name : Image;

    private async System.Threading.Tasks.Task RemoveImageAsync(DockerClient client)
    {
        try
        {
            await client.Images.DeleteImageAsync(Image, new ImageDeleteParameters { Force = true },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (DockerApiException)
        {
            // Still in use by a container of the user's; the error is reported all the same.
        }
    }
}
