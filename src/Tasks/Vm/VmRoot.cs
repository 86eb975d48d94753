using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// The VM flavour of an app image's root filesystem, as a directory: the image's base and
/// published app, laid out as the app layer lays them out, plus what only a VM needs (the
/// init as /init, the kernel's modules, the launch settings). The cached base is copied,
/// never changed.
/// </summary>
public sealed class VmRoot
{
    private const UnixFileMode Executable = (UnixFileMode)0x1ED;
    private const UnixFileMode Readable = (UnixFileMode)0x1A4;
    private readonly IToolRunner _runner;

    /// <summary>Creates the builder; cp runs through the runner.</summary>
    public VmRoot(IToolRunner runner) => _runner = runner;

    /// <summary>What goes into the VM root besides the base.</summary>
    /// <param name="PublishDirectory">The published app, copied to the working directory.</param>
    /// <param name="WorkingDirectory">The image's working directory, where the app goes.</param>
    /// <param name="ExtraFiles">Further files and their absolute paths in the image.</param>
    /// <param name="InitPath">The compiled init, installed as /init.</param>
    /// <param name="ModulesRoot">A tree to lay over the root (the kernel's modules).</param>
    /// <param name="Launch">How the init starts the app.</param>
    /// <param name="SystemdService">With systemd as PID 1 (the base has it), the app's unit
    /// name; empty for the compiled init.</param>
    /// <param name="ModuleLoadOrder">The modules systemd loads, with systemd as PID 1.</param>
    public sealed record Content(string PublishDirectory, string WorkingDirectory,
        IReadOnlyList<(string Source, string Destination)> ExtraFiles, string InitPath,
        string ModulesRoot, AppLaunch Launch, string SystemdService = "",
        IReadOnlyList<string>? ModuleLoadOrder = null);

    /// <summary>Builds the directory anew from the base and the content.</summary>
    public async Task BuildAsync(string baseRoot, string outputDirectory, Content content,
        CancellationToken cancellation)
    {
        if (Directory.Exists(outputDirectory))
        {
            Directory.Delete(outputDirectory, recursive: true);
        }

        Directory.CreateDirectory(outputDirectory);
        await CopyTreeAsync(baseRoot, outputDirectory, cancellation).ConfigureAwait(false);
        if (content.ModulesRoot.Length > 0)
        {
            await CopyTreeAsync(content.ModulesRoot, outputDirectory, cancellation)
                .ConfigureAwait(false);
        }

        CopyPublished(content.PublishDirectory,
            Inside(outputDirectory, content.WorkingDirectory));
        foreach (var (source, destination) in content.ExtraFiles)
        {
            var target = Inside(outputDirectory, destination);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target, overwrite: true);
            File.SetUnixFileMode(target, Readable);
        }

        var init = Path.Combine(outputDirectory, "init");
        if (content.SystemdService.Length > 0)
        {
            WriteSystemd(outputDirectory, content);
        }
        else
        {
            File.Copy(content.InitPath, init, overwrite: true);
            File.SetUnixFileMode(init, Executable);
        }

        var launch = Path.Combine(outputDirectory, AppLaunch.PathInRoot);
        Directory.CreateDirectory(Path.GetDirectoryName(launch)!);
        await File.WriteAllBytesAsync(launch, content.Launch.ToBytes(), cancellation)
            .ConfigureAwait(false);
        File.SetUnixFileMode(launch, Readable);
    }

    // The kernel runs /init from an initramfs; the disk and ISO's first stage runs it from the
    // real root. The app's unit is enabled as systemctl enable would, and the serial getty
    // comes from systemd's own generator for the console= the kernel was given.
    private static void WriteSystemd(string root, Content content)
    {
        File.CreateSymbolicLink(Path.Combine(root, "init"), "/usr/lib/systemd/systemd");

        var units = Path.Combine(root, SystemdUnits.UnitDirectory);
        var wants = Path.Combine(units, "multi-user.target.wants");
        Directory.CreateDirectory(wants);
        WriteText(Path.Combine(units, content.SystemdService),
            SystemdUnits.AppService(content.Launch, "The app of this virtual machine"));
        var link = Path.Combine(wants, content.SystemdService);
        if (!File.Exists(link))
        {
            File.CreateSymbolicLink(link, "/" + SystemdUnits.UnitDirectory + "/"
                + content.SystemdService);
        }

        WriteText(Inside(root, SystemdUnits.ModulesLoadFile),
            SystemdUnits.ModulesLoadList(content.ModuleLoadOrder ?? []));
        WriteText(Inside(root, SystemdUnits.NetworkFile), SystemdUnits.EthernetNetwork());
    }

    private static void WriteText(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, HostTools.Utf8);
        File.SetUnixFileMode(path, Readable);
    }

    // cp keeps owners, modes, links and device nodes; a reflink where the file system can.
    private async Task CopyTreeAsync(string source, string destination,
        CancellationToken cancellation)
    {
        var result = await _runner.RunAsync(new ToolCommand("cp",
            ["-a", "--reflink=auto", source.TrimEnd('/') + "/.", destination]), cancellation)
            .ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new DtvException("VmRootCopyFailed", source, destination, result.ExitCode,
                result.Tail);
        }
    }

    // The same modes as in the app layer: directories and executables 0755, the rest 0644.
    private static void CopyPublished(string publishDirectory, string target)
    {
        Directory.CreateDirectory(target);
        File.SetUnixFileMode(target, Executable);
        foreach (var entry in new DirectoryInfo(publishDirectory)
                     .EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target,
                Path.GetRelativePath(publishDirectory, entry.FullName));
            if (entry.LinkTarget is not null)
            {
                File.CreateSymbolicLink(destination, entry.LinkTarget);
            }
            else if (entry is DirectoryInfo)
            {
                Directory.CreateDirectory(destination);
                File.SetUnixFileMode(destination, Executable);
            }
            else
            {
                File.Copy(entry.FullName, destination, overwrite: true);
                File.SetUnixFileMode(destination,
                    (entry.UnixFileMode & UnixFileMode.UserExecute) != 0 ? Executable : Readable);
            }
        }
    }

    private static string Inside(string root, string absolute) =>
        Path.Combine(root, absolute.TrimStart('/'));
}
