using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Qemu;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Qemu;

[TestClass]
public sealed class QemuInterpreterTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("dtv-qemu-");

    private string Folder => _temporary.Path;

    public void Dispose() => _temporary.Dispose();

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void Static_and_dynamic_programs_are_told_apart(bool is64)
    {
        var fixedProgram = TestElf.Write(Path.Combine(Folder, "static"), false, is64);
        var dynamicProgram = TestElf.Write(Path.Combine(Folder, "dynamic"), true, is64);

        Assert.IsTrue(QemuInterpreter.IsStaticallyLinked(fixedProgram));
        Assert.IsFalse(QemuInterpreter.IsStaticallyLinked(dynamicProgram));
    }

    [TestMethod]
    public void A_script_is_not_a_static_program()
    {
        var script = Path.Combine(Folder, "script");
        File.WriteAllText(script, "#!/bin/sh\nexit 0\n");

        Assert.IsFalse(QemuInterpreter.IsStaticallyLinked(script));
    }

    [TestMethod]
    public void The_emulator_from_qemu_user_static_is_found()
    {
        var expected = TestElf.Write(Path.Combine(Folder, "qemu-aarch64-static"), false);

        Assert.AreEqual(expected, QemuInterpreter.Resolve("aarch64", string.Empty, [Folder]));
    }

    [TestMethod]
    public void A_static_emulator_without_the_static_suffix_is_found()
    {
        var expected = TestElf.Write(Path.Combine(Folder, "qemu-riscv64"), false);

        Assert.AreEqual(expected, QemuInterpreter.Resolve("riscv64", string.Empty, [Folder]));
    }

    [TestMethod]
    public void A_dynamically_linked_emulator_is_passed_over_for_a_static_one()
    {
        TestElf.Write(Path.Combine(Folder, "qemu-aarch64-static"), true);
        var other = Directory.CreateDirectory(Path.Combine(Folder, "other")).FullName;
        var expected = TestElf.Write(Path.Combine(other, "qemu-aarch64-static"), false);

        Assert.AreEqual(expected,
            QemuInterpreter.Resolve("aarch64", string.Empty, [Folder, other]));
    }

    [TestMethod]
    public void Only_a_dynamically_linked_emulator_is_a_DTV4002()
    {
        TestElf.Write(Path.Combine(Folder, "qemu-aarch64"), true);

        var e = Assert.ThrowsExactly<DtvException>(
            () => QemuInterpreter.Resolve("aarch64", string.Empty, [Folder]));

        Assert.AreEqual("DTV4002", e.Code);
    }

    [TestMethod]
    public void No_emulator_is_a_DTV4001_that_names_the_package()
    {
        var e = Assert.ThrowsExactly<DtvException>(
            () => QemuInterpreter.Resolve("aarch64", string.Empty, [Folder]));

        Assert.AreEqual("DTV4001", e.Code);
        Assert.AreEqual("qemu-user-static", e.Arguments[^1]);
    }

    [TestMethod]
    public void A_given_emulator_is_used_as_it_is()
    {
        var given = TestElf.Write(Path.Combine(Folder, "my-qemu"), false);

        Assert.AreEqual(given, QemuInterpreter.Resolve("aarch64", given, []));
    }

    [TestMethod]
    [DataRow("relative/qemu")]
    [DataRow("/no/such/qemu")]
    [DataRow("/tmp/qemu:odd")]
    public void A_given_emulator_that_cannot_be_registered_is_a_DTV4003(string given)
    {
        var e = Assert.ThrowsExactly<DtvException>(
            () => QemuInterpreter.Resolve("aarch64", given, []));

        Assert.AreEqual("DTV4003", e.Code);
    }

    [TestMethod]
    public void A_given_dynamically_linked_emulator_is_a_DTV4002()
    {
        var given = TestElf.Write(Path.Combine(Folder, "my-qemu"), true);

        var e = Assert.ThrowsExactly<DtvException>(
            () => QemuInterpreter.Resolve("aarch64", given, []));

        Assert.AreEqual("DTV4002", e.Code);
    }
}
