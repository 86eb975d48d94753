using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Qemu;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Qemu;

/// <summary>
/// The registration decisions, made against a fake binfmt_misc folder: no root needed, and
/// the machine's own /proc is never touched.
/// </summary>
[TestClass]
public sealed class QemuRegisterTaskTests : IDisposable
{
    private readonly FakeBinfmtDirectory _binfmt = new();
    private readonly TemporaryDirectory _emulators = new("dtv-emulators-");
    private readonly string _emulator;

    public QemuRegisterTaskTests() =>
        _emulator = TestElf.Write(_emulators.Combine("qemu-aarch64-static"), false);

    public void Dispose()
    {
        _binfmt.Dispose();
        _emulators.Dispose();
    }

    [TestMethod]
    public void Emulation_of_arm64_can_be_registered()
    {
        var (task, engine) = Create();

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.IsTrue(task.Registered);
        Assert.AreEqual("registered", task.Action);
        var expected = QemuBinaryFormats.EntryFor("arm64", _emulator).ToRegisterString();
        Assert.AreEqual(expected, _binfmt.Registered);
        StringAssert.EndsWith(_binfmt.Registered, _emulator + ":CF");
    }

    [TestMethod]
    public void Registering_twice_leaves_the_entry_alone()
    {
        var (first, _) = Create();
        Assert.IsTrue(first.Execute());
        _binfmt.ActAsKernel();
        var shown = _binfmt.Entry("qemu-aarch64");

        var (second, engine) = Create();
        Assert.IsTrue(second.Execute(), engine.Log);

        Assert.IsTrue(second.Registered);
        Assert.AreEqual("unchanged", second.Action);
        Assert.AreEqual(string.Empty, _binfmt.Registered);
        Assert.AreEqual(shown, _binfmt.Entry("qemu-aarch64"));
    }

    [TestMethod]
    public void A_working_registration_from_the_qemu_package_is_kept()
    {
        var packaged = TestElf.Write(_emulators.Combine("aarch64-binfmt-P"), false);
        _binfmt.AddEntry("qemu-aarch64", Aarch64Status(packaged, "POF"));

        var (task, engine) = Create();
        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("unchanged", task.Action);
        Assert.IsTrue(task.Registered);
        Assert.AreEqual(string.Empty, _binfmt.Registered);
        Assert.AreEqual(Aarch64Status(packaged, "POF"), _binfmt.Entry("qemu-aarch64"));
    }

    [TestMethod]
    public void A_registration_whose_interpreter_is_not_on_this_machine_is_kept_when_fixed()
    {
        _binfmt.AddEntry("qemu-aarch64", Aarch64Status("/nowhere/qemu-aarch64", "OCF"));

        var (task, engine) = Create();
        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("unchanged", task.Action);
        Assert.AreEqual(string.Empty, _binfmt.Registered);
    }

    [TestMethod]
    public void A_registration_without_fix_binary_is_refused_with_DTV4005()
    {
        _binfmt.AddEntry("qemu-aarch64", Aarch64Status(_emulator, "OC"));

        var (task, engine) = Create();
        Assert.IsFalse(task.Execute());

        Assert.AreEqual("DTV4005", string.Join(" ", engine.ErrorCodes), engine.Log);
        Assert.IsFalse(task.Registered);
        Assert.AreEqual(string.Empty, _binfmt.Registered);
        Assert.AreEqual(Aarch64Status(_emulator, "OC"), _binfmt.Entry("qemu-aarch64"));
    }

    [TestMethod]
    public void A_disabled_registration_is_refused_with_DTV4005()
    {
        _binfmt.AddEntry("qemu-aarch64",
            Aarch64Status(_emulator, "OCF").Replace("enabled", "disabled"));

        var (task, engine) = Create();
        Assert.IsFalse(task.Execute());

        Assert.AreEqual("DTV4005", string.Join(" ", engine.ErrorCodes), engine.Log);
    }

    [TestMethod]
    public void A_registration_for_other_programs_under_the_same_name_is_refused_with_DTV4005()
    {
        var riscv = Aarch64Status(_emulator, "OCF").Replace("b700\n", "f300\n");
        _binfmt.AddEntry("qemu-aarch64", riscv);

        var (task, engine) = Create();
        Assert.IsFalse(task.Execute());

        Assert.AreEqual("DTV4005", string.Join(" ", engine.ErrorCodes), engine.Log);
    }

    [TestMethod]
    public void A_registration_with_a_dynamically_linked_interpreter_is_refused_with_DTV4005()
    {
        var dynamicEmulator = TestElf.Write(_emulators.Combine("qemu-dyn"), true);
        _binfmt.AddEntry("qemu-aarch64", Aarch64Status(dynamicEmulator, "OCF"));

        var (task, engine) = Create();
        Assert.IsFalse(task.Execute());

        Assert.AreEqual("DTV4005", string.Join(" ", engine.ErrorCodes), engine.Log);
    }

    [TestMethod]
    public void A_registration_that_cannot_be_read_is_refused_with_DTV4005()
    {
        _binfmt.AddEntry("qemu-aarch64", "enabled\nsomething new\n");

        var (task, engine) = Create();
        Assert.IsFalse(task.Execute());

        Assert.AreEqual("DTV4005", string.Join(" ", engine.ErrorCodes), engine.Log);
    }

    [TestMethod]
    public void A_registration_that_cannot_be_read_can_be_replaced()
    {
        _binfmt.AddEntry("qemu-aarch64", "enabled\nsomething new\n");

        var (task, engine) = Create();
        task.ReplaceExisting = true;
        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("replaced", task.Action);
        _binfmt.ActAsKernel();
        Assert.AreEqual(Aarch64Status(_emulator, "OCF"), _binfmt.Entry("qemu-aarch64"));
    }

    [TestMethod]
    public void A_differing_registration_can_be_replaced()
    {
        _binfmt.AddEntry("qemu-aarch64", Aarch64Status(_emulator, "OC"));

        var (task, engine) = Create();
        task.ReplaceExisting = true;
        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("replaced", task.Action);
        Assert.IsTrue(task.Registered);
        Assert.AreEqual("-1", _binfmt.Entry("qemu-aarch64"));
        _binfmt.ActAsKernel();
        Assert.AreEqual(Aarch64Status(_emulator, "OCF"), _binfmt.Entry("qemu-aarch64"));
    }

    [TestMethod]
    public void Replacing_also_replaces_a_working_registration_that_is_not_identical()
    {
        var packaged = TestElf.Write(_emulators.Combine("aarch64-binfmt-P"), false);
        _binfmt.AddEntry("qemu-aarch64", Aarch64Status(packaged, "POF"));

        var (task, engine) = Create();
        task.ReplaceExisting = true;
        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("replaced", task.Action);
        _binfmt.ActAsKernel();
        Assert.AreEqual(Aarch64Status(_emulator, "OCF"), _binfmt.Entry("qemu-aarch64"));
    }

    [TestMethod]
    public void Replacing_leaves_an_identical_registration_alone()
    {
        _binfmt.AddEntry("qemu-aarch64", Aarch64Status(_emulator, "OCF"));

        var (task, engine) = Create();
        task.ReplaceExisting = true;
        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("unchanged", task.Action);
        Assert.AreEqual(Aarch64Status(_emulator, "OCF"), _binfmt.Entry("qemu-aarch64"));
    }

    [TestMethod]
    [DataRow("amd64", "amd64")]
    [DataRow("amd64", "i386")]
    [DataRow("arm64", "arm64")]
    public void The_machines_own_architecture_needs_no_registration(string host, string target)
    {
        var (task, engine) = Create(target, host);
        task.BinfmtDirectory = Path.Combine(_binfmt.Path, "not-there");
        task.InterpreterDirectories = [];

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual("not-needed", task.Action);
        Assert.IsFalse(task.Registered);
    }

    [TestMethod]
    public void Emulating_amd64_on_an_arm64_machine_registers_x86_64()
    {
        TestElf.Write(_emulators.Combine("qemu-x86_64-static"), false);
        var (task, engine) = Create("amd64", "arm64");

        Assert.IsTrue(task.Execute(), engine.Log);

        StringAssert.StartsWith(_binfmt.Registered, ":qemu-x86_64:M:0:");
    }

    [TestMethod]
    public void A_missing_emulator_is_a_DTV4001()
    {
        var (task, engine) = Create("riscv64");

        Assert.IsFalse(task.Execute());

        Assert.AreEqual("DTV4001", string.Join(" ", engine.ErrorCodes), engine.Log);
        Assert.AreEqual(string.Empty, _binfmt.Registered);
    }

    [TestMethod]
    public void An_unknown_architecture_is_a_DTV1005()
    {
        var (task, engine) = Create("aarch64");

        Assert.IsFalse(task.Execute());

        Assert.AreEqual("DTV1005", string.Join(" ", engine.ErrorCodes), engine.Log);
    }

    [TestMethod]
    public void An_unmounted_binfmt_misc_is_mounted_first()
    {
        using var unmounted = new FakeBinfmtDirectory(mounted: false);
        var runner = new FakeToolRunner(_ =>
        {
            File.WriteAllText(unmounted.RegisterPath, string.Empty);
            return new ToolResult(0, []);
        });
        var (task, engine) = Create();
        task.BinfmtDirectory = unmounted.Path;
        task.Runner = runner;

        Assert.IsTrue(task.Execute(), engine.Log);

        var mount = runner.Commands.Single();
        Assert.AreEqual("mount", mount.Program);
        Assert.AreEqual("-t binfmt_misc binfmt_misc " + unmounted.Path,
            string.Join(" ", mount.Arguments));
        Assert.AreEqual("registered", task.Action);
    }

    [TestMethod]
    public void A_binfmt_misc_that_cannot_be_mounted_is_a_DTV4004()
    {
        using var unmounted = new FakeBinfmtDirectory(mounted: false);
        var (task, engine) = Create();
        task.BinfmtDirectory = unmounted.Path;
        task.Runner = new FakeToolRunner(
            _ => new ToolResult(32, ["mount: permission denied"]));

        Assert.IsFalse(task.Execute());

        // Without root the cause is plain: the library's root message says what to do.
        var expected = HostTools.IsRoot ? "DTV4004" : "DTV1014";
        Assert.AreEqual(expected, string.Join(" ", engine.ErrorCodes), engine.Log);
    }

    [TestMethod]
    public void A_registration_the_kernel_refuses_is_a_DTV4006()
    {
        // Writing to /dev/full fails the way a refused registration does: the write errs.
        File.Delete(_binfmt.RegisterPath);
        File.CreateSymbolicLink(_binfmt.RegisterPath, "/dev/full");
        var (task, engine) = Create();

        Assert.IsFalse(task.Execute());

        Assert.AreEqual("DTV4006", string.Join(" ", engine.ErrorCodes), engine.Log);
    }

    private (QemuRegisterTask Task, RecordingBuildEngine Engine) Create(
        string architecture = "arm64", string host = "amd64")
    {
        var engine = new RecordingBuildEngine();
        var task = new QemuRegisterTask
        {
            BuildEngine = engine,
            Architecture = architecture,
            BinfmtDirectory = _binfmt.Path,
            HostArchitecture = host,
            InterpreterDirectories = [_emulators.Path],
        };
        return (task, engine);
    }

    // What the kernel shows for an aarch64 entry with this interpreter and these flags.
    private static string Aarch64Status(string interpreter, string flags) =>
        "enabled\n"
        + $"interpreter {interpreter}\n"
        + $"flags: {flags}\n"
        + "offset 0\n"
        + "magic 7f454c460201010000000000000000000200b700\n"
        + "mask ffffffffffffff00fffffffffffffffffeffffff\n";
}
