using System.ComponentModel;
using System.Diagnostics;
using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Qemu;
using DockerToVms.Tasks.Recipe;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.IntegrationTests.Qemu;

/// <summary>
/// Registers aarch64 emulation with the real kernel and runs an aarch64 program, directly
/// and in an otherwise empty chroot. Every test leaves binfmt_misc as it found it: an entry
/// it added is removed, and a mount it made is undone.
/// </summary>
[TestClass]
[TestCategory("Integration")]
public sealed class QemuRegistrationTests
{
    private const string EntryName = "qemu-aarch64";
    private const string PackageRegistration = "/usr/lib/binfmt.d/qemu-aarch64.conf";
    private static readonly string s_mountPoint = BinfmtRegistrar.DefaultDirectory;
    private static readonly string s_entryPath = Path.Combine(s_mountPoint, EntryName);

    private MachineLock? _lock;
    private bool _wasMounted;
    private string? _entryBefore;
    private string _work = string.Empty;
    private string _program = string.Empty;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void RecordMachineState()
    {
        if (!HostTools.IsRoot)
        {
            Assert.Inconclusive("Registering with binfmt_misc needs root.");
        }

        if (DebianArchitecture.Host != "amd64")
        {
            Assert.Inconclusive(
                $"The aarch64 probe needs an amd64 machine, not {DebianArchitecture.Host}.");
        }

        if (!File.Exists("/usr/bin/qemu-aarch64-static"))
        {
            Assert.Inconclusive("qemu-aarch64-static is missing: apt-get install qemu-user-static.");
        }

        // Builds for another architecture in the end-to-end tests rely on the registration.
        _lock = MachineLock.Acquire(MachineLock.Binfmt, TimeSpan.FromMinutes(30));
        _wasMounted = File.Exists(Path.Combine(s_mountPoint, "register"));
        _entryBefore = File.Exists(s_entryPath) ? File.ReadAllText(s_entryPath) : null;
        _work = Directory.CreateTempSubdirectory("dtv-qemu-it-").FullName;
        _program = Aarch64Program.Write(Path.Combine(_work, "hello"));
    }

    [TestCleanup]
    public void RestoreMachineState()
    {
        using var held = _lock;
        if (_work.Length == 0)
        {
            return;
        }

        // Written directly, so that restoring does not rely on the code under test.
        var register = Path.Combine(s_mountPoint, "register");
        var entryNow = File.Exists(s_entryPath) ? File.ReadAllText(s_entryPath) : null;
        if (entryNow != _entryBefore)
        {
            if (entryNow is not null)
            {
                File.WriteAllText(s_entryPath, "-1");
            }

            if (_entryBefore is not null)
            {
                File.WriteAllText(register,
                    BinfmtEntry.Parse(EntryName, _entryBefore).ToRegisterString());
            }
        }

        var restored = File.Exists(s_entryPath) ? File.ReadAllText(s_entryPath) : null;
        if (!_wasMounted && File.Exists(register))
        {
            using var umount = Process.Start("umount", [s_mountPoint]);
            umount.WaitForExit();
        }

        Directory.Delete(_work, recursive: true);
        Assert.AreEqual(_entryBefore, restored,
            "The machine's aarch64 registration was not restored.");
    }

    [TestMethod]
    public void An_arm64_program_runs_once_registered_even_in_a_chroot()
    {
        if (_entryBefore is null)
        {
            // Without a registration the kernel refuses the program: the probe is honest.
            Assert.ThrowsExactly<Win32Exception>(() => Run(_program));
        }

        var (task, engine) = Create();
        if (!Execute(task, engine))
        {
            Assert.Inconclusive("This machine's own aarch64 registration is in the way: "
                + engine.Log);
        }

        Assert.IsTrue(task.Registered);
        Assert.AreEqual(_entryBefore is null ? "registered" : "unchanged", task.Action);
        Assert.AreEqual(Aarch64Program.Greeting, Run(_program));
        Assert.AreEqual(Aarch64Program.Greeting, RunInChroot());
    }

    [TestMethod]
    public void Registering_twice_leaves_the_entry_alone()
    {
        var (first, firstEngine) = Create();
        if (!Execute(first, firstEngine))
        {
            Assert.Inconclusive("This machine's own aarch64 registration is in the way: "
                + firstEngine.Log);
        }

        var registered = File.ReadAllText(s_entryPath);

        var (second, engine) = Create();
        Assert.IsTrue(Execute(second, engine), engine.Log);

        Assert.AreEqual("unchanged", second.Action);
        Assert.AreEqual(registered, File.ReadAllText(s_entryPath));
    }

    [TestMethod]
    public void A_registration_made_the_way_the_qemu_package_does_is_kept_and_works()
    {
        RegisterAsThePackageDoes();

        var (task, engine) = Create();
        Assert.IsTrue(Execute(task, engine), engine.Log);

        Assert.AreEqual("unchanged", task.Action);
        var entry = BinfmtEntry.Parse(EntryName, File.ReadAllText(s_entryPath));
        Assert.IsTrue(entry.Flags.HasFlag(BinfmtOptions.PreserveArgv0), "package entry kept");
        Assert.AreEqual(Aarch64Program.Greeting, RunInChroot());
    }

    [TestMethod]
    public void A_registration_made_the_way_the_qemu_package_does_can_be_replaced()
    {
        RegisterAsThePackageDoes();

        var (task, engine) = Create();
        task.ReplaceExisting = true;
        Assert.IsTrue(Execute(task, engine), engine.Log);

        Assert.AreEqual("replaced", task.Action);
        var entry = BinfmtEntry.Parse(EntryName, File.ReadAllText(s_entryPath));
        Assert.AreEqual("/usr/bin/qemu-aarch64-static", entry.Interpreter);
        Assert.AreEqual("OCF", BinfmtEntry.Letters(entry.Flags));
        Assert.AreEqual(Aarch64Program.Greeting, RunInChroot());
    }

    // Writes the line Debian's qemu-user-static ships for systemd-binfmt, as it would at boot.
    private void RegisterAsThePackageDoes()
    {
        if (_entryBefore is not null || !File.Exists(PackageRegistration))
        {
            Assert.Inconclusive("Needs a machine without an aarch64 registration and with "
                + PackageRegistration + " (from qemu-user-static).");
        }

        if (!File.Exists(Path.Combine(s_mountPoint, "register")))
        {
            Run("mount", "-t", "binfmt_misc", "binfmt_misc", s_mountPoint);
        }

        var line = File.ReadAllText(PackageRegistration).Trim();
        File.WriteAllText(Path.Combine(s_mountPoint, "register"), line);
        Assert.IsTrue(File.Exists(s_entryPath), "the package's registration was accepted");
    }

    // Runs the task and keeps its log in the test's output.
    private bool Execute(QemuRegisterTask task, RecordingBuildEngine engine)
    {
        var succeeded = task.Execute();
        TestContext.WriteLine(engine.Log);
        return succeeded;
    }

    private static (QemuRegisterTask Task, RecordingBuildEngine Engine) Create()
    {
        var engine = new RecordingBuildEngine();
        var task = new QemuRegisterTask { BuildEngine = engine, Architecture = "arm64" };
        return (task, engine);
    }

    private string RunInChroot()
    {
        // Only the program is in the new root: no QEMU, no libraries, no shell.
        var root = Directory.CreateDirectory(Path.Combine(_work, "root")).FullName;
        File.Copy(_program, Path.Combine(root, "hello"), overwrite: true);
        return Run("chroot", root, "/hello");
    }

    private string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, $"{program} exited with {process.ExitCode}");
        TestContext.WriteLine($"{program} {string.Join(' ', arguments)}: {output}");
        return output;
    }
}
