using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Qemu;

/// <summary>
/// Makes the kernel run programs of another architecture with QEMU's user-mode emulator, so
/// that a root filesystem of that architecture can be bootstrapped and customised in a
/// chroot. The emulator is registered with binfmt_misc with the <c>F</c> flag (the kernel
/// opens it once, so the root filesystem needs no copy of it) and the <c>C</c> flag (so
/// set-user-ID programs keep working). Nothing is written when a suitable entry is already
/// in place; see <see cref="BinfmtRegistrar"/> for how an existing entry is judged.
/// </summary>
/// <remarks>
/// The registration outlives the build, as one made at boot would; it ends with a reboot or
/// with <c>echo -1 &gt; /proc/sys/fs/binfmt_misc/qemu-NAME</c>.
/// </remarks>
public sealed class QemuRegisterTask : AsyncTask
{
    /// <summary><see cref="Action"/> when an entry was registered.</summary>
    public const string ActionRegistered = "registered";

    /// <summary><see cref="Action"/> when a suitable entry was already there.</summary>
    public const string ActionUnchanged = "unchanged";

    /// <summary><see cref="Action"/> when a differing entry was replaced.</summary>
    public const string ActionReplaced = "replaced";

    /// <summary><see cref="Action"/> when the machine runs the architecture natively.</summary>
    public const string ActionNotNeeded = "not-needed";

    /// <summary>The Debian architecture to emulate, such as <c>arm64</c>.</summary>
    [Required]
    public string Architecture { get; set; } = string.Empty;

    /// <summary>
    /// The statically linked emulator to register. Empty (the default) to use the one
    /// qemu-user-static installs, such as <c>/usr/bin/qemu-aarch64-static</c>.
    /// </summary>
    public string InterpreterPath { get; set; } = string.Empty;

    /// <summary>
    /// Replace an entry of the same name that is not identical to the one this task would
    /// register, even one that would work. False by default.
    /// </summary>
    public bool ReplaceExisting { get; set; }

    /// <summary>Where binfmt_misc is mounted; <c>/proc/sys/fs/binfmt_misc</c> by default.</summary>
    public string BinfmtDirectory { get; set; } = BinfmtRegistrar.DefaultDirectory;

    /// <summary>
    /// True when emulation of the architecture is registered after the task, whether this run
    /// registered it or found it in place; false when none is needed.
    /// </summary>
    [Output]
    public bool Registered { get; private set; }

    /// <summary>
    /// What the task did: <c>registered</c>, <c>unchanged</c> (also when a different but
    /// working entry was kept), <c>replaced</c> or <c>not-needed</c>.
    /// </summary>
    [Output]
    public string Action { get; private set; } = string.Empty;

    /// <summary>The build machine's Debian architecture; tests replace it.</summary>
    internal string HostArchitecture { get; set; } = DebianArchitecture.Host;

    /// <summary>Where the emulator is looked for; tests replace it.</summary>
    internal IReadOnlyList<string> InterpreterDirectories { get; set; } =
        QemuInterpreter.DefaultDirectories;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        RecipeValidation.Architecture(Architecture);
        if (QemuBinaryFormats.RunsNatively(HostArchitecture, Architecture))
        {
            Action = ActionNotNeeded;
            Log.LogMessageFromResources(MessageImportance.Normal, "QemuNotNeeded", Architecture,
                HostArchitecture);
            return;
        }

        var qemuName = DebianArchitecture.ToQemu(Architecture);
        var interpreter = QemuInterpreter.Resolve(qemuName, InterpreterPath,
            InterpreterDirectories);
        var wanted = QemuBinaryFormats.EntryFor(Architecture, interpreter);

        var registrar = new BinfmtRegistrar(BinfmtDirectory, GetRunner());
        await registrar.EnsureMountedAsync(cancellation).ConfigureAwait(false);
        var result = registrar.Register(wanted, ReplaceExisting);

        Registered = true;
        Action = result.Outcome switch
        {
            BinfmtOutcome.Registered => ActionRegistered,
            BinfmtOutcome.Replaced => ActionReplaced,
            _ => ActionUnchanged,
        };
        LogOutcome(result, wanted);
    }

    private void LogOutcome(BinfmtResult result, BinfmtEntry wanted)
    {
        switch (result.Outcome)
        {
            case BinfmtOutcome.Registered:
                Log.LogMessageFromResources(MessageImportance.High, "QemuRegistered",
                    wanted.Name, wanted);
                break;
            case BinfmtOutcome.Unchanged:
                Log.LogMessageFromResources(MessageImportance.Normal, "QemuUnchanged",
                    wanted.Name, wanted);
                break;
            case BinfmtOutcome.Compatible:
                Log.LogMessageFromResources(MessageImportance.Normal, "QemuCompatible",
                    wanted.Name, result.Previous, wanted);
                break;
            case BinfmtOutcome.Replaced:
                Log.LogMessageFromResources(MessageImportance.High, "QemuReplaced",
                    wanted.Name, result.Previous?.ToString() ?? "unreadable", wanted);
                break;
        }
    }
}
