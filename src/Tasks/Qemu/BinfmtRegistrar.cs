using DockerToVms.Tasks.Execution;
using Microsoft.Win32.SafeHandles;

namespace DockerToVms.Tasks.Qemu;

/// <summary>What registering an entry with binfmt_misc did.</summary>
public enum BinfmtOutcome
{
    /// <summary>There was no entry of that name; it has been registered.</summary>
    Registered,

    /// <summary>An identical entry was there already; nothing was written.</summary>
    Unchanged,

    /// <summary>
    /// A different entry of that name was there, but it runs the same programs with the
    /// interpreter fixed at registration, so it works in a chroot; it was left alone.
    /// </summary>
    Compatible,

    /// <summary>A different entry of that name was removed and the wanted one registered.</summary>
    Replaced,
}

/// <summary>The outcome, and the entry found before, if any, with its differences.</summary>
/// <param name="Outcome">What was done.</param>
/// <param name="Previous">The entry of that name found before, or null.</param>
/// <param name="Differences">How the previous entry differed from the wanted one, in words.</param>
public sealed record BinfmtResult(BinfmtOutcome Outcome, BinfmtEntry? Previous,
    IReadOnlyList<string> Differences);

/// <summary>
/// Registers entries with the kernel's binfmt_misc file system: mounts it when needed, reads
/// what is registered, and writes only when the wanted entry is not already in effect.
/// </summary>
/// <remarks>
/// <para>An entry of the same name that differs is handled as a user would expect from a
/// build step that should not disturb the machine's own configuration:</para>
/// <list type="bullet">
/// <item>If it recognises the same programs, is enabled and has the <c>F</c> (fix-binary)
/// flag, it is kept (<see cref="BinfmtOutcome.Compatible"/>). Such an entry works inside a
/// chroot, whatever its interpreter's path or its other flags; this is what Debian's
/// qemu-user-static package registers (flags <c>POF</c>, interpreter under
/// /usr/libexec/qemu-binfmt), and replacing it would take the machine's configuration away
/// from the package that owns it. The one exception is an interpreter that exists on this
/// machine but is dynamically linked: it cannot start inside a root filesystem of another
/// architecture, so that entry is not compatible. A kept entry without the <c>C</c> flag
/// runs set-user-ID programs without their owner's rights; builds run as root, so that
/// rarely matters.</item>
/// <item>Any other difference (no <c>F</c>, disabled, other magic bytes) would make builds
/// fail in ways that are hard to trace, so it is an error unless replacing was asked for.
/// </item>
/// <item>When replacing was asked for, every entry that is not identical is replaced,
/// compatible or not: the user asked for this library's registration.</item>
/// </list>
/// <para>Entries of other names are not looked at. The kernel tries the newest entry first,
/// so one registered here takes precedence over an older one of another name.</para>
/// </remarks>
public sealed class BinfmtRegistrar
{
    /// <summary>Where binfmt_misc is normally mounted.</summary>
    public const string DefaultDirectory = "/proc/sys/fs/binfmt_misc";

    private const string RegisterFile = "register";
    private readonly IToolRunner _runner;

    /// <summary>Creates a registrar for a binfmt_misc directory.</summary>
    /// <param name="directory">The mounted (or to be mounted) binfmt_misc directory.</param>
    /// <param name="runner">Runs mount when the directory is not mounted yet.</param>
    public BinfmtRegistrar(string directory, IToolRunner runner)
    {
        MountPoint = directory;
        _runner = runner;
    }

    /// <summary>The binfmt_misc directory.</summary>
    public string MountPoint { get; }

    /// <summary>The file that shows, and removes, the entry of a name.</summary>
    public string EntryPath(string name) => Path.Combine(MountPoint, name);

    /// <summary>
    /// Mounts binfmt_misc on the directory unless its <c>register</c> file is there. The mount
    /// is left in place afterwards, as a boot-time setup would leave it.
    /// </summary>
    /// <exception cref="DtvException">DTV1014 when not root, DTV4004 when mount fails.</exception>
    public async Task EnsureMountedAsync(CancellationToken cancellation)
    {
        if (IsMounted)
        {
            return;
        }

        var result = await _runner.RunAsync(
            new ToolCommand("mount", ["-t", "binfmt_misc", "binfmt_misc", MountPoint]),
            cancellation).ConfigureAwait(false);
        if (IsMounted)
        {
            return;
        }

        if (!HostTools.IsRoot)
        {
            throw new DtvException("BinfmtMountNeedsRoot", MountPoint, Environment.UserName);
        }

        throw new DtvException("BinfmtMountFailed", MountPoint, result.ExitCode, result.Tail);
    }

    /// <summary>
    /// Makes the wanted entry take effect, leaving an identical or compatible one alone; see
    /// the remarks of <see cref="BinfmtRegistrar"/> for what counts as compatible.
    /// </summary>
    /// <param name="wanted">The entry to have registered.</param>
    /// <param name="replaceExisting">Replace an entry of the same name unless identical.</param>
    /// <exception cref="DtvException">DTV4005 when a differing entry is in the way, DTV4006
    /// when the kernel refuses the entry, DTV1014 when not root.</exception>
    public BinfmtResult Register(BinfmtEntry wanted, bool replaceExisting)
    {
        var path = EntryPath(wanted.Name);
        if (!File.Exists(path))
        {
            try
            {
                WriteRegistration(wanted);
            }
            catch (DtvException) when (File.Exists(path))
            {
                // Another build (MSBuild runs projects in parallel) registered the name in
                // the meantime; its entry is judged like any found one, and never replaced.
                return Register(wanted, replaceExisting: false);
            }

            return new BinfmtResult(BinfmtOutcome.Registered, null, []);
        }

        BinfmtEntry? existing;
        IReadOnlyList<string> differences;
        try
        {
            existing = BinfmtEntry.Parse(wanted.Name, File.ReadAllText(path));
            differences = existing.DifferencesFrom(wanted);
        }
        catch (FormatException)
        {
            // An entry this code cannot read is treated like any other that differs.
            existing = null;
            differences = ["its description could not be read"];
        }

        if (differences.Count == 0)
        {
            return new BinfmtResult(BinfmtOutcome.Unchanged, existing, differences);
        }

        if (!replaceExisting)
        {
            if (existing is not null && IsCompatible(existing, wanted))
            {
                return new BinfmtResult(BinfmtOutcome.Compatible, existing, differences);
            }

            throw new DtvException("BinfmtEntryDiffers", wanted.Name,
                string.Join("; ", differences), path);
        }

        Remove(wanted.Name);
        try
        {
            WriteRegistration(wanted);
        }
        catch (DtvException) when (existing is not null)
        {
            // Put the previous entry back rather than leave the machine without one.
            try
            {
                WriteRegistration(existing);
            }
            catch (DtvException)
            {
                // The first failure is the one worth reporting.
            }

            throw;
        }

        return new BinfmtResult(BinfmtOutcome.Replaced, existing, differences);
    }

    /// <summary>Removes the entry of a name, if there is one, by writing <c>-1</c> to it.</summary>
    public void Remove(string name)
    {
        var path = EntryPath(name);
        if (File.Exists(path))
        {
            Write(path, "-1", name);
        }
    }

    /// <summary>
    /// Whether an entry that differs from the wanted one still makes emulation work in a
    /// chroot: enabled, same programs, interpreter fixed at registration, and not a
    /// dynamically linked interpreter.
    /// </summary>
    public static bool IsCompatible(BinfmtEntry existing, BinfmtEntry wanted) =>
        existing.Enabled
        && existing.Flags.HasFlag(BinfmtOptions.FixBinary)
        && existing.RecognisesSameFilesAs(wanted)
        && (!File.Exists(existing.Interpreter)
            || QemuInterpreter.IsStaticallyLinked(existing.Interpreter));

    private bool IsMounted => File.Exists(Path.Combine(MountPoint, RegisterFile));

    private void WriteRegistration(BinfmtEntry entry) =>
        Write(Path.Combine(MountPoint, RegisterFile), entry.ToRegisterString(), entry.Name);

    // The kernel reads a registration from a single write, so the text is written in one go
    // and without buffering; a file that does not exist is never created.
    private static void Write(string path, string text, string name)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Truncate, FileAccess.Write);
        }
        catch (UnauthorizedAccessException) when (!HostTools.IsRoot)
        {
            throw new DtvException("BinfmtNeedsRoot", name, Environment.UserName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DtvException("BinfmtRegisterFailed", name, path, e.Message);
        }

        using (handle)
        {
            try
            {
                RandomAccess.Write(handle, HostTools.Utf8.GetBytes(text), 0);
            }
            catch (FileNotFoundException)
            {
                // From a write, "not found" is the kernel failing to open the interpreter of
                // an entry with the F flag; the exception's text would name the wrong file.
                throw new DtvException("BinfmtRegisterFailed", name, path,
                    "the kernel could not open the interpreter");
            }
            catch (IOException e)
            {
                throw new DtvException("BinfmtRegisterFailed", name, path, e.Message);
            }
        }
    }
}
