using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// What disk and ISO images are made from, checked once: the root filesystem, the kernel, an
/// optional initramfs of the caller's own, the kernel command line, the init to start and
/// the architecture.
/// </summary>
internal sealed record VmImageInputs(string RootDirectory, string KernelPath, string InitrdPath,
    string KernelCommandLine, string InitPath, string Architecture)
{
    /// <summary>The inputs with the paths made absolute (tools run in other directories).</summary>
    public static VmImageInputs Create(string rootDirectory, string kernelPath, string initrdPath,
        string kernelCommandLine, string initPath, string architecture) =>
        new(Absolute(rootDirectory), Absolute(kernelPath), Absolute(initrdPath), kernelCommandLine,
            initPath, architecture);

    private static string Absolute(string path) =>
        string.IsNullOrWhiteSpace(path) ? string.Empty : Path.GetFullPath(path);

    /// <summary>The command line used when none is given: the serial console, few messages.</summary>
    public const string DefaultKernelCommandLine = "console=ttyS0 quiet";

    // Characters GRUB's configuration language would take as syntax, not as text.
    private static readonly System.Buffers.SearchValues<char> s_grubSyntax =
        System.Buffers.SearchValues.Create("\"'\\$;&|<>{}\n\r#");

    /// <summary>The command line to use.</summary>
    public string CommandLine => string.IsNullOrWhiteSpace(KernelCommandLine)
        ? DefaultKernelCommandLine
        : KernelCommandLine.Trim();

    /// <summary>Whether the caller brings its own initramfs, not the built-in first stage.</summary>
    public bool HasOwnInitrd => !string.IsNullOrWhiteSpace(InitrdPath);

    /// <summary>Throws the coded error for the first input that is wrong.</summary>
    public void Validate(string image)
    {
        if (Architecture != "amd64")
        {
            throw new DtvException("VmArchitectureNotSupported", Architecture, image);
        }

        if (!Directory.Exists(RootDirectory))
        {
            throw new DtvException("VmRootMissing", RootDirectory);
        }

        if (!File.Exists(KernelPath))
        {
            throw new DtvException("VmKernelMissing", KernelPath);
        }

        if (HasOwnInitrd && !File.Exists(InitrdPath))
        {
            throw new DtvException("VmInitrdMissing", InitrdPath);
        }

        if (!InitPath.StartsWith('/') || !InitExists())
        {
            throw new DtvException("VmInitMissing", InitPath, RootDirectory);
        }

        if (CommandLine.AsSpan().ContainsAny(s_grubSyntax))
        {
            throw new DtvException("VmKernelCommandLineInvalid", CommandLine);
        }
    }

    // The init may be a link that is absolute inside the root (/sbin/init -> /lib/...); the
    // link itself is enough, since it is resolved only in the machine.
    private bool InitExists()
    {
        var path = Path.Combine(RootDirectory, InitPath.TrimStart('/'));
        return File.Exists(path) || new FileInfo(path).LinkTarget is not null;
    }

    /// <summary>The GRUB configuration that boots the kernel and initramfs at these paths.</summary>
    public string GrubConfig(string kernel, string initrd) =>
        "set timeout=0\n"
        + $"linux {kernel} {CommandLine}\n"
        + $"initrd {initrd}\n"
        + "boot\n";
}
