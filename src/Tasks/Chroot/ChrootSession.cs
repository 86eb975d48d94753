using DockerToVms.Tasks.Execution;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Chroot;

/// <summary>
/// Runs commands inside a root filesystem the way a Dockerfile's RUN does. Each command gets
/// /proc, /sys, /dev and /run in private mount and process namespaces that end with it,
/// services are kept from starting, and the environment holds only what the recipe gives.
/// </summary>
public sealed class ChrootSession : IDisposable
{
    /// <summary>The PATH inside the root filesystem.</summary>
    public const string GuestPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private const string PolicyFile = "usr/sbin/policy-rc.d";
    private const string ResolverFile = "etc/resolv.conf";
    private const string AptConfigFile = "etc/apt/apt.conf.d/00dockertovms-build";
    private static readonly string s_script = ReadScript("chroot.sh");

    private readonly IToolRunner _runner;
    private readonly TaskLoggingHelper _log;
    private readonly List<string> _created = [];

    private ChrootSession(string root, IToolRunner runner, TaskLoggingHelper log)
    {
        Root = root;
        _runner = runner;
        _log = log;
    }

    /// <summary>The root filesystem's directory.</summary>
    public string Root { get; }

    /// <summary>
    /// Whether the following commands run in a network namespace of their own, with no
    /// network but an unconfigured loopback (BaseImageOffline).
    /// </summary>
    public bool WithoutNetwork { get; set; }

    /// <summary>
    /// Checks the root filesystem and prepares it for commands. With
    /// <paramref name="allowUnsigned"/>, apt accepts an archive without signatures while the
    /// session lasts.
    /// </summary>
    public static ChrootSession Open(string root, IToolRunner runner, TaskLoggingHelper log,
        bool allowUnsigned = false)
    {
        var full = Path.GetFullPath(root);
        if (full == "/" || !File.Exists(Path.Combine(full, "bin/sh"))
            && !File.Exists(Path.Combine(full, "usr/bin/sh")))
        {
            throw new DtvException("RootfsMissing", root);
        }

        if (runner.Find("unshare") is null)
        {
            throw new DtvException("UnshareMissing", "unshare");
        }

        var session = new ChrootSession(full, runner, log);

        // Package scripts must not start daemons in the build machine's process space.
        session.CreateIfMissing(PolicyFile, "#!/bin/sh\nexit 101\n", "755");

        // The resolver file is lent from the build machine during a step; it needs a file to
        // be mounted over.
        session.CreateIfMissing(ResolverFile, string.Empty, "644");

        // apt settings for the build only (the file goes when the session ends): downloads
        // that fail in a way that may pass are retried, for the recipe's packages and for
        // any apt-get a RUN command calls.
        session.CreateIfMissing(AptConfigFile, AptConfig(allowUnsigned), "644");
        return session;
    }

    /// <summary>Runs a shell command in the root filesystem.</summary>
    public Task<ToolResult> RunShellAsync(string command,
        IReadOnlyDictionary<string, string> environment, CancellationToken cancellation) =>
        RunAsync(["/bin/sh", "-c", command], environment, command, cancellation);

    /// <summary>Runs a program in the root filesystem with the given arguments.</summary>
    public async Task<ToolResult> RunAsync(IReadOnlyList<string> command,
        IReadOnlyDictionary<string, string> environment, string display,
        CancellationToken cancellation)
    {
        var arguments = new List<string>
        {
            "--mount", "--pid", "--propagation", "private", "--fork", "--kill-child", "--",
            "/bin/sh", "-c", s_script, "chroot.sh", Root,
            "/usr/bin/env", "-i",
            "PATH=" + GuestPath,
            "HOME=/root",
            "LANG=C.UTF-8",
            "DEBIAN_FRONTEND=noninteractive",
        };
        arguments.AddRange(Bootstrap.DebootstrapCommand.ProxyVariables());
        arguments.AddRange(environment.Select(pair => $"{pair.Key}={pair.Value}"));
        arguments.AddRange(command);
        if (WithoutNetwork)
        {
            arguments.Insert(0, "--net");
        }

        try
        {
            return await _runner.RunAsync(
                new ToolCommand("unshare", arguments)
                {
                    Display = $"chroot {Root} {display}",

                    // mount and chroot live in sbin, which a user's PATH may lack.
                    Environment = new Dictionary<string, string?> { ["PATH"] = GuestPath },

                    // The command is the first process of its own namespace: killing it ends
                    // everything it started, and a cancelled step's result is discarded.
                    GracePeriod = TimeSpan.Zero,
                },
                cancellation).ConfigureAwait(false);
        }
        finally
        {
            UndoLeftMounts();
        }
    }

    /// <summary>
    /// Copies a file from the build machine into the root filesystem. As with a Dockerfile's
    /// COPY, a destination that ends with '/' or names an existing directory receives the
    /// file under its own name.
    /// </summary>
    public void CopyIn(string source, string destination, UnixFileMode mode)
    {
        var target = ResolveInside(destination);
        if (destination.EndsWith('/') || Directory.Exists(target))
        {
            target = Path.Combine(target, Path.GetFileName(source));
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(source, target, overwrite: true);
        File.SetUnixFileMode(target, mode);
    }

    /// <summary>Removes what the session added and makes sure nothing stays mounted.</summary>
    public void Dispose()
    {
        foreach (var path in _created)
        {
            File.Delete(path);
        }

        _created.Clear();
        UndoLeftMounts();
    }

    // Mounts live in a namespace of their own and cannot outlive the step; this guards
    // against a command that mounted into the shared namespace on purpose.
    private void UndoLeftMounts()
    {
        foreach (var point in MountTable.Below(Root))
        {
            _log.LogWarningWithCodeFromResources("MountsLeft", point);
            using var umount = System.Diagnostics.Process.Start("umount", ["-l", point]);
            umount?.WaitForExit();
        }
    }

    private void CreateIfMissing(string relative, string content, string mode)
    {
        var path = Path.Combine(Root, relative);
        if (File.Exists(path) || Directory.Exists(Path.GetDirectoryName(path)) is false)
        {
            return;
        }

        File.WriteAllText(path, content, HostTools.Utf8);
        File.SetUnixFileMode(path, ParseMode(mode));
        _created.Add(path);
    }

    /// <summary>
    /// The path on the build machine for a path inside the root filesystem, refusing any
    /// path that would leave it through a symbolic link.
    /// </summary>
    private string ResolveInside(string pathInImage) => ResolveInside(pathInImage, 0);

    // Links are followed the way the kernel does it, up to the kernel's own limit of 40, so
    // a link to itself is an error rather than endless recursion.
    private string ResolveInside(string pathInImage, int links)
    {
        var current = Root;
        foreach (var part in pathInImage.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is { } link)
            {
                if (++links > 40)
                {
                    throw new DtvException("PathInImageInvalid", pathInImage, "BaseImageFile");
                }

                // A link inside the image is resolved against the image's root, not the host's.
                next = link.StartsWith('/')
                    ? ResolveInside(link, links)
                    : ResolveInside(Path.GetRelativePath(Root, Path.Combine(current, link)),
                        links);
            }

            current = Path.GetFullPath(next);
            if (current != Root && !current.StartsWith(Root + "/", StringComparison.Ordinal))
            {
                throw new DtvException("PathInImageInvalid", pathInImage, "BaseImageFile");
            }
        }

        return current;
    }

    private static string AptConfig(bool allowUnsigned) => allowUnsigned
        ? "Acquire::Retries \"3\";\nAcquire::AllowInsecureRepositories \"true\";\n"
            + "APT::Get::AllowUnauthenticated \"true\";\n"
        : "Acquire::Retries \"3\";\n";

    /// <summary>Parses an octal mode such as <c>0644</c>.</summary>
    public static UnixFileMode ParseMode(string octal) =>
        (UnixFileMode)Convert.ToInt32(octal, 8);

    private static string ReadScript(string name)
    {
        using var stream = typeof(ChrootSession).Assembly
            .GetManifestResourceStream("DockerToVms.Tasks.Chroot." + name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The text of a script shipped inside this assembly.</summary>
    internal static string Script(string name) => ReadScript(name);
}
