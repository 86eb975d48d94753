using System.Diagnostics;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Qemu;
using DockerToVms.Tasks.Recipe;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Bootstrap;

/// <summary>
/// Creates a Debian or Ubuntu root filesystem with debootstrap or mmdebstrap (see
/// <see cref="Bootstrapper"/>; the task keeps its name from the days of one tool). The inputs
/// are checked first (suite, mirror, architecture, target), the mirror is asked whether it has
/// the suite, and the tool's output is streamed into the build log. With debootstrap, an
/// architecture the machine cannot run is bootstrapped in two stages: <c>debootstrap
/// --foreign</c> unpacks, then the second stage runs inside the root filesystem under QEMU
/// (see <see cref="SecondStage"/>); mmdebstrap runs the packages' scripts under QEMU itself,
/// after a probe. Both need the emulator registered with binfmt_misc first (QemuRegisterTask).
/// </summary>
public sealed class DebootstrapTask : AsyncTask
{
    /// <inheritdoc />
    private protected override bool RunsInUserNamespace => true;

    /// <summary>The suite or codename, such as <c>trixie</c>, <c>bookworm</c> or <c>noble</c>.</summary>
    [Required]
    public string Suite { get; set; } = string.Empty;

    /// <summary>The mirror's URL: http, https or file.</summary>
    [Required]
    public string Mirror { get; set; } = string.Empty;

    /// <summary>The directory to create; it must not exist or be empty.</summary>
    [Required]
    public string TargetDirectory { get; set; } = string.Empty;

    /// <summary>The debootstrap variant. Defaults to <c>minbase</c>.</summary>
    public string Variant { get; set; } = "minbase";

    /// <summary>The Debian architecture. Defaults to the build machine's.</summary>
    public string Architecture { get; set; } = string.Empty;

    /// <summary>The archive components. Defaults to <c>main</c>.</summary>
    public string[] Components { get; set; } = ["main"];

    /// <summary>Packages added to the bootstrap.</summary>
    public string[] IncludePackages { get; set; } = [];

    /// <summary>Packages left out of the bootstrap.</summary>
    public string[] ExcludePackages { get; set; } = [];

    /// <summary>A keyring to verify the archive with; empty for debootstrap's default.</summary>
    public string Keyring { get; set; } = string.Empty;

    /// <summary>
    /// Stop after the first stage and leave the second to the caller. Without it, an
    /// architecture the machine cannot run gets both stages.
    /// </summary>
    public bool Foreign { get; set; }

    /// <summary>The build machine's Debian architecture; tests replace it.</summary>
    internal string HostArchitecture { get; set; } = DebianArchitecture.Host;

    /// <summary>
    /// Install without checking the archive's signatures, for a mirror that has none. Warned
    /// about (DTV1022) every time it is used.
    /// </summary>
    public bool AllowUnsigned { get; set; }

    /// <summary>
    /// How many times debootstrap runs, each into an emptied target, when a download fails
    /// in a way that may pass (a reset connection, a 5xx answer). Defaults to 3.
    /// </summary>
    public int Attempts { get; set; } = 3;

    /// <summary>
    /// The tool that bootstraps: <c>debootstrap</c> (the default), <c>mmdebstrap</c>, or
    /// <c>auto</c> for mmdebstrap when it is installed and the recipe leaves no package out.
    /// An ordinary user's build always uses mmdebstrap, in a user namespace.
    /// </summary>
    public string Bootstrapper { get; set; } = "debootstrap";

    /// <summary>The bootstrapper that ran: <c>debootstrap</c> or <c>mmdebstrap</c>.</summary>
    [Output]
    public string BootstrapperUsed { get; private set; } = string.Empty;

    /// <summary>Whether this runs in an ordinary user's namespace; tests replace it.</summary>
    internal bool InUserNamespace { get; set; } = UserNamespace.IsInside;

    /// <summary>Replaces the mirror check in tests; null for the real one.</summary>
    internal MirrorProbe? Probe { get; set; }

    /// <summary>Waits between attempts; tests replace it to run without waiting.</summary>
    internal Func<TimeSpan, CancellationToken, System.Threading.Tasks.Task> Delay { get; set; } =
        System.Threading.Tasks.Task.Delay;

    /// <inheritdoc />
    protected override async System.Threading.Tasks.Task ExecuteAsync(
        CancellationToken cancellation)
    {
        var options = Validate();
        var runner = GetRunner();
        // In an ordinary user's build this runs as the root of the build's user namespace,
        // where mmdebstrap works in root mode and debootstrap, which makes device files,
        // does not.
        var choice = BootstrapperSelection.Choose(Foreign ? "debootstrap" : Bootstrapper,
            options, InUserNamespace, runner.Find);
        if (runner.Find("unshare") is null)
        {
            throw new DtvException("UnshareMissing", "unshare");
        }

        BootstrapperUsed = choice.Name;
        Log.LogMessageFromResources(MessageImportance.High, "BootstrapperChosen", options.Suite,
            options.Architecture, choice.Name, choice.Reason);
        if (options.AllowUnsigned)
        {
            Log.LogWarningWithCodeFromResources("UnsignedAllowed", options.Suite, options.Mirror);
        }

        await (Probe ?? new MirrorProbe())
            .CheckAsync(new Uri(options.Mirror), options.Suite, cancellation)
            .ConfigureAwait(false);

        var clock = Stopwatch.StartNew();
        var backend = BootstrapBackend.For(choice.Kind);
        var emulated = !options.Foreign
            && !QemuBinaryFormats.RunsNatively(HostArchitecture, options.Architecture);
        await RunWithRetriesAsync(runner, backend, options, emulated, cancellation)
            .ConfigureAwait(false);
        if (emulated && backend.NeedsSecondStage)
        {
            LogStageTime("first stage of the bootstrap", clock.Elapsed);
            await SecondStage.RunAsync(options.TargetDirectory, options.Architecture, runner,
                Log, cancellation).ConfigureAwait(false);
        }

        LogStageTime("bootstrap", clock.Elapsed);
    }

    private async System.Threading.Tasks.Task RunWithRetriesAsync(IToolRunner runner,
        BootstrapBackend backend, DebootstrapOptions options, bool emulated,
        CancellationToken cancellation)
    {
        var attempts = Math.Max(1, Attempts);
        for (var attempt = 1; ; attempt++)
        {
            var result = await runner.RunAsync(backend.CreateCommand(options, emulated),
                cancellation).ConfigureAwait(false);
            if (result.ExitCode == 0)
            {
                return;
            }

            if (emulated && EmulationFailure(result, options.Architecture) is { } machine)
            {
                throw new DtvException("EmulationNotWorking", options.Architecture,
                    options.TargetDirectory, result.ExitCode, machine,
                    QemuBinaryFormats.EntryName(options.Architecture), result.Tail);
            }

            var failure = DebootstrapOutput.Classify(result,
                backend.ReadLog(options.TargetDirectory));
            switch (failure.Kind)
            {
                case DebootstrapFailureKind.DiskFull:
                    throw new DtvException("DiskFull", options.TargetDirectory, failure.Line);
                // A mirror in the middle of an update can serve a Release file and a signature
                // that do not match; a key that is not in the keyring is no such accident.
                case DebootstrapFailureKind.Signature when attempt < attempts
                    && failure.Line.Contains("Invalid Release signature",
                        StringComparison.Ordinal):
                    break;
                case DebootstrapFailureKind.Signature:
                    throw new DtvException("SignatureCheckFailed", options.Suite, options.Mirror,
                        options.Keyring.Length > 0 ? options.Keyring : backend.Name + "'s default",
                        failure.Line);
                case DebootstrapFailureKind.Download when attempt < attempts:
                    break;
                case DebootstrapFailureKind.Download:
                    throw new DtvException("DownloadFailed", attempt,
                        failure.Url.Length > 0 ? failure.Url : options.Mirror, failure.Line);
                default:
                    throw new DtvException(backend.FailedResource, options.Suite,
                        options.Architecture, result.ExitCode, result.Tail);
            }

            // A half-made target cannot be resumed: both tools want it empty.
            var wait = TimeSpan.FromSeconds(5 * (1 << (attempt - 1)));
            Log.LogMessageFromResources(MessageImportance.High, "DownloadRetry", backend.Name,
                failure.Line.Trim(), wait.TotalSeconds, attempt + 1, attempts);
            await Delay(wait, cancellation).ConfigureAwait(false);
            Rootfs.RootfsCache.Discard(options.TargetDirectory);
            Directory.CreateDirectory(options.TargetDirectory);
        }
    }

    // The emulation probe of an mmdebstrap bootstrap prints the machine name it got; a name
    // that is not the architecture's, or none at all after the hook ran, means emulation does
    // not work. Returns that name, or null when the failure lies elsewhere.
    private static string? EmulationFailure(ToolResult result, string architecture)
    {
        var line = result.LastLines.LastOrDefault(l =>
            l.StartsWith(MmdebstrapCommand.MachineMarker, StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }

        var machine = line[MmdebstrapCommand.MachineMarker.Length..].Trim();
        var expected = EmulationProbe.MachineNames(architecture);
        return expected.Count > 0 && !expected.Contains(machine) ? machine : null;
    }

    private DebootstrapOptions Validate()
    {
        RecipeValidation.Suite(Suite);
        RecipeValidation.Mirror(Mirror);
        var architecture = Architecture.Length == 0 ? DebianArchitecture.Host : Architecture;
        RecipeValidation.Architecture(architecture);
        RecipeValidation.Components(Components);
        RecipeValidation.PackageNames(IncludePackages, nameof(IncludePackages));
        RecipeValidation.PackageNames(ExcludePackages, nameof(ExcludePackages));
        if (Keyring.Length > 0 && !File.Exists(Keyring))
        {
            throw new DtvException("KeyringMissing", Keyring);
        }

        var target = Path.GetFullPath(TargetDirectory);
        if (target == "/")
        {
            throw new DtvException("TargetIsRoot", TargetDirectory);
        }

        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new DtvException("TargetNotEmpty", target);
        }

        return new DebootstrapOptions
        {
            Suite = Suite,
            Mirror = Mirror,
            TargetDirectory = target,
            Architecture = architecture,
            Variant = Variant,
            Components = Components,
            Include = IncludePackages,
            Exclude = ExcludePackages,
            Keyring = Keyring,
            Foreign = Foreign,
            AllowUnsigned = AllowUnsigned,
        };
    }
}
