using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Verify;

/// <summary>
/// Runs the BaseImageCheck items against the finished app image, each in a container of its
/// own that is created with the command as entrypoint, without network,
/// and removed whatever happens. Every failing check is reported, with its command, what it
/// should have given and what it gave; then the build fails. A stamp file remembers the
/// image and checks that passed, so an unchanged image is not checked again.
/// </summary>
public sealed class RunImageChecksTask : AsyncTask
{
    /// <summary>Label on the check containers, so that one left by a killed build is known.</summary>
    public const string ContainerLabel = "dev.dockertovms.check";

    /// <summary>The app image, by id or reference.</summary>
    [Required]
    public string Image { get; set; } = string.Empty;

    /// <summary>How messages name the image, such as <c>myapp:latest</c>; the id when empty.</summary>
    public string ImageName { get; set; } = string.Empty;

    /// <summary>
    /// The checks: item spec (or <c>Command</c> metadata) the shell command, with optional
    /// <c>ExpectedExitCode</c>, <c>ExpectedOutput</c> and <c>Timeout</c> metadata.
    /// </summary>
    public ITaskItem[] Checks { get; set; } = [];

    /// <summary>A file that records the image and checks that last passed; optional.</summary>
    public string StampFile { get; set; } = string.Empty;

    /// <summary>The daemon's address; empty for DOCKER_HOST or the local socket.</summary>
    public string DockerHost { get; set; } = string.Empty;

    /// <summary>The number of checks that passed.</summary>
    [Output]
    public int Passed { get; private set; }

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var checks = Checks.Select(ImageCheck.FromItem).ToList();
        if (checks.Count == 0)
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        using var client = await DockerConnection.OpenAsync(DockerHost, cancellation)
            .ConfigureAwait(false);
        var image = await ImageQueries.TryInspectAsync(client, Image, cancellation)
            .ConfigureAwait(false) ?? throw new DtvException("BaseImageMissing", Image);

        var stamp = StampOf(image.ID, checks);
        if (StampFile.Length > 0 && File.Exists(StampFile) && File.ReadAllText(StampFile) == stamp)
        {
            Log.LogMessageFromResources(MessageImportance.High, "ChecksUnchanged", checks.Count,
                Shown);
            return;
        }

        DeleteStamp();
        foreach (var check in checks)
        {
            var failure = await RunAsync(client, image.ID, check, cancellation)
                .ConfigureAwait(false);
            if (failure is null)
            {
                Passed++;
                Log.LogMessageFromResources(MessageImportance.Normal, "CheckPassed",
                    check.Command);
            }
            else
            {
                Log.LogErrorWithCodeFromResources(failure.ResourceName, [.. failure.Arguments]);
            }
        }

        Log.LogMessageFromResources(MessageImportance.High, "ChecksDone", Passed, checks.Count,
            Shown);
        LogStageTime("image checks", clock.Elapsed);
        if (Passed == checks.Count && StampFile.Length > 0)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(StampFile))!);
            File.WriteAllText(StampFile, stamp, HostTools.Utf8);
        }
    }

    private async Task<DtvException?> RunAsync(DockerClient client, string imageId,
        ImageCheck check, CancellationToken cancellation)
    {
        var container = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = BuildContainers.NewName(),
            Image = imageId,
            Entrypoint = [.. check.Arguments],
            NetworkDisabled = true,
            HostConfig = new HostConfig { NetworkMode = "none" },
            Labels = new Dictionary<string, string> { [ContainerLabel] = imageId },
        }, cancellation).ConfigureAwait(false);

        try
        {
            try
            {
                await client.Containers.StartContainerAsync(container.ID,
                    new ContainerStartParameters(), cancellation).ConfigureAwait(false);
            }
            catch (DockerApiException e)
            {
                return check.StartFailure(Shown, (e.ResponseBody ?? e.Message).Trim());
            }

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            limit.CancelAfter(TimeSpan.FromSeconds(check.TimeoutSeconds));
            ContainerWaitResponse exit;
            try
            {
                exit = await client.Containers.WaitContainerAsync(container.ID, limit.Token)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                return new DtvException("CheckTimedOut", check.Command, Shown,
                    check.TimeoutSeconds);
            }

            using var logs = await client.Containers.GetContainerLogsAsync(container.ID, false,
                new ContainerLogsParameters { ShowStdout = true, ShowStderr = true },
                cancellation).ConfigureAwait(false);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(cancellation)
                .ConfigureAwait(false);
            return check.Evaluate(Shown, exit.StatusCode, stdout + stderr);
        }
        finally
        {
            await client.Containers.RemoveContainerAsync(container.ID,
                new ContainerRemoveParameters { Force = true }, CancellationToken.None)
                .ConfigureAwait(false);
        }
    }

    private string Shown => ImageName.Length > 0 ? ImageName : Image;

    private void DeleteStamp()
    {
        if (StampFile.Length > 0 && File.Exists(StampFile))
        {
            File.Delete(StampFile);
        }
    }

    private static string StampOf(string imageId, IEnumerable<ImageCheck> checks)
    {
        var text = string.Join('\n', new[] { imageId }.Concat(checks.Select(c => c.ToCanonicalText())));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))
            .ToLowerInvariant();
    }
}
