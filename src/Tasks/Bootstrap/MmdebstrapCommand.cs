using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Qemu;

namespace DockerToVms.Tasks.Bootstrap;

/// <summary>
/// Builds the mmdebstrap command line for the same recipe debootstrap would get, so that both
/// give the same packages and nearly the same files. mmdebstrap runs in its root mode, in the
/// same private mount and process namespaces as debootstrap: as root, or in an ordinary user's
/// build as the root of the build's user namespace (see <see cref="UserNamespace"/>), where
/// it binds the machine's device files instead of making them.
/// </summary>
public static class MmdebstrapCommand
{
    /// <summary>The line the emulation probe prints before the machine name it got.</summary>
    public const string MachineMarker = "dockertovms-machine:";

    // Suites whose base-files carries the merged-/usr links itself. Older suites get them from
    // mmdebstrap's hook, which does what debootstrap does; without it apt would pull in
    // usrmerge and perl, about 50 MB more than debootstrap gives.
    private static readonly HashSet<string> s_mergedByBaseFiles = new(StringComparer.Ordinal)
    {
        "trixie", "forky", "duke", "sid", "unstable", "testing", "stable",
    };

    /// <summary>Where mmdebstrap keeps the hook that merges /usr as debootstrap does.</summary>
    public const string MergedUsrHooks = "/usr/share/mmdebstrap/hooks/merged-usr";

    /// <summary>The full command: mmdebstrap in clean namespaces with its arguments.</summary>
    /// <param name="options">The recipe.</param>
    /// <param name="emulated">Whether the architecture runs only under QEMU here.</param>
    public static ToolCommand Create(DebootstrapOptions options, bool emulated = false)
    {
        // mmdebstrap's own temporary files go beside the target, so that those of a killed
        // bootstrap are discarded with it.
        var scratch = Path.GetDirectoryName(Path.GetFullPath(options.TargetDirectory))!;
        var arguments = new List<string>
        {
            "--mount", "--pid", "--propagation", "private", "--fork", "--kill-child", "--",
            "env", "-i", "PATH=" + DebootstrapCommand.CleanPath, "LC_ALL=C.UTF-8",
            "TMPDIR=" + scratch,
        };
        arguments.AddRange(DebootstrapCommand.ProxyVariables());
        arguments.Add("mmdebstrap");
        arguments.AddRange(CreateArguments(options, emulated));

        // A half-made root filesystem is discarded, so a cancelled bootstrap is killed at once.
        return new ToolCommand("unshare", arguments) { GracePeriod = TimeSpan.Zero };
    }

    /// <summary>mmdebstrap's own arguments.</summary>
    public static IReadOnlyList<string> CreateArguments(DebootstrapOptions options,
        bool emulated = false)
    {
        var arguments = new List<string>
        {
            "--mode=root",
            "--format=directory",
            "--variant=" + options.Variant,
            "--architectures=" + options.Architecture,
        };
        if (options.Components.Count > 0)
        {
            arguments.Add("--components=" + string.Join(',', options.Components));
        }

        if (options.Include.Count > 0)
        {
            arguments.Add("--include=" + string.Join(',', options.Include));
        }

        // apt retries a failed file itself; the task runs the whole bootstrap again on top.
        arguments.Add("--aptopt=Acquire::Retries \"3\"");
        if (options.AllowUnsigned)
        {
            arguments.Add("--aptopt=Acquire::AllowInsecureRepositories \"true\"");
            arguments.Add("--aptopt=APT::Get::AllowUnauthenticated \"true\"");
        }
        else if (options.Keyring.Length > 0)
        {
            // apt refuses an unsigned or wrongly signed Release file unless told otherwise, so
            // this is as strict as debootstrap's --force-check-gpg.
            arguments.Add("--keyring=" + options.Keyring);
        }

        if (!s_mergedByBaseFiles.Contains(options.Suite))
        {
            arguments.Add("--hook-dir=" + MergedUsrHooks);
        }

        if (emulated)
        {
            arguments.Add("--extract-hook=" + EmulationProbeHook(options.Architecture));
        }

        // debootstrap keeps the package lists, which the package step after the bootstrap
        // uses; the apt options above are the bootstrap's own and stay out of the image.
        arguments.Add("--skip=cleanup/apt/lists");
        arguments.Add("--customize-hook=rm -f \"$1/etc/apt/apt.conf.d/99mmdebstrap\"");

        arguments.Add(options.Suite);
        arguments.Add(options.TargetDirectory);
        arguments.Add(options.Mirror);
        return arguments;
    }

    /// <summary>
    /// A hook run once the essential packages are unpacked and before any of their scripts:
    /// it runs <c>uname -m</c> inside, as the emulation probe does for debootstrap's second
    /// stage, and stops the bootstrap when programs of the architecture do not run.
    /// </summary>
    public static string EmulationProbeHook(string architecture)
    {
        var report = $"echo \"{MachineMarker} $m\"";
        var run = $"m=$(chroot \"$1\" uname -m 2>&1) || {{ {report}; exit 1; }}; {report}";
        var expected = string.Join(' ', EmulationProbe.MachineNames(architecture));
        return expected.Length == 0
            ? run
            : $"{run}; case \" {expected} \" in *\" $m \"*) ;; *) exit 1 ;; esac";
    }
}
