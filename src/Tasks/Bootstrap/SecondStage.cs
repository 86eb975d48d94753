using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Qemu;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Bootstrap;

/// <summary>
/// The second half of a bootstrap for an architecture the machine cannot run itself.
/// <c>debootstrap --foreign</c> only downloads and unpacks the packages; configuring them
/// runs their own programs, so it happens inside the root filesystem, in the same private
/// namespaces as every chroot step, with the kernel handing each program to QEMU through
/// binfmt_misc. Before that a probe makes sure such programs run at all.
/// </summary>
public static class SecondStage
{
    /// <summary>The command that finishes the bootstrap, inside the root filesystem.</summary>
    public static IReadOnlyList<string> Command { get; } =
        ["/debootstrap/debootstrap", "--second-stage"];

    /// <summary>debootstrap's log, inside the root filesystem until the bootstrap ends.</summary>
    public const string LogFile = "debootstrap/debootstrap.log";

    private const int LogLines = 10;

    /// <summary>Checks emulation, then runs the second stage in the root filesystem.</summary>
    /// <exception cref="DtvException">DTV4008 when programs of the architecture do not run,
    /// DTV1030 when the second stage fails.</exception>
    public static async System.Threading.Tasks.Task RunAsync(string rootDirectory,
        string architecture, IToolRunner runner, TaskLoggingHelper log,
        CancellationToken cancellation)
    {
        using var session = ChrootSession.Open(rootDirectory, runner, log);
        var machine = await EmulationProbe.CheckAsync(session, architecture, cancellation)
            .ConfigureAwait(false);
        log.LogMessageFromResources(MessageImportance.High, "EmulationWorks", architecture,
            machine);

        var result = await session.RunAsync(Command, new Dictionary<string, string>(),
            string.Join(' ', Command), cancellation).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new DtvException("SecondStageFailed", architecture, session.Root,
                result.ExitCode, result.Tail, LogTail(session.Root));
        }
    }

    // debootstrap prints only a summary of a failed package script; the details are in its
    // log, which is deleted with the staging directory, so its end goes into the message.
    private static string LogTail(string rootDirectory)
    {
        var path = Path.Combine(rootDirectory, LogFile);
        if (!File.Exists(path))
        {
            return string.Empty;
        }

        var lines = File.ReadLines(path).TakeLast(LogLines).ToList();
        return lines.Count == 0
            ? string.Empty
            : $"{Environment.NewLine}The end of {LogFile}:{Environment.NewLine}"
                + string.Join(Environment.NewLine, lines);
    }
}
