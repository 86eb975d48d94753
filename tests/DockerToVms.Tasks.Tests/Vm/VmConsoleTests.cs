using System.Text;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>
/// VmRun's console: every line reaches the log, the init's last line gives the app's exit
/// code, and a missing QEMU, a machine that never powers off or one that dies before the app
/// ends are coded errors.
/// </summary>
[TestClass]
public sealed class VmConsoleTests
{
    private static readonly QemuCommand.Machine s_machine = new("amd64", "initramfs",
        "/vm/vmlinuz", "/vm/initramfs.img", "console=ttyS0", 512, 1, "tcg", 0, 0);

    private static FakeToolRunner Printing(string console, params string[] missing) =>
        new(_ => new ToolResult(0, []), missing)
        {
            PipedOutput = _ => Encoding.UTF8.GetBytes(console),
        };

    [TestMethod]
    public async Task The_app_s_output_and_exit_code_come_from_the_console()
    {
        var lines = new List<string>();
        var console = new VmConsole(Printing(
            "\u001bc\u001b[?7ldockertovms: starting /app/Hello\r\nHello\r\n"
            + "dockertovms: app exited with code 3\r\n[ 2.8] reboot: Power down\r\n"),
            lines.Add);

        var code = await console.RunAsync(s_machine, TimeSpan.Zero, CancellationToken.None);

        Assert.AreEqual(3, code);
        CollectionAssert.Contains(lines, "Hello");
        CollectionAssert.Contains(lines, "dockertovms: starting /app/Hello");
    }

    [TestMethod]
    public async Task A_machine_that_ends_without_the_app_s_exit_is_an_error()
    {
        var console = new VmConsole(Printing("Kernel panic - not syncing\n"), _ => { });

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            console.RunAsync(s_machine, TimeSpan.Zero, CancellationToken.None));

        Assert.AreEqual("DTV5012", error.Code);
    }

    [TestMethod]
    public async Task A_missing_QEMU_names_the_package_to_install()
    {
        var console = new VmConsole(Printing(string.Empty, "qemu-system-x86_64"), _ => { });

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            console.RunAsync(s_machine, TimeSpan.Zero, CancellationToken.None));

        Assert.AreEqual("DTV5006", error.Code);
        Assert.AreEqual("qemu-system-x86", error.Arguments[1]);
    }

    [TestMethod]
    public async Task A_machine_still_running_at_the_time_limit_is_stopped()
    {
        var console = new VmConsole(new KvmProbeTests.HangingRunner(), _ => { });

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            console.RunAsync(s_machine, TimeSpan.FromSeconds(1), CancellationToken.None));

        Assert.AreEqual("DTV5010", error.Code);
    }

    [TestMethod]
    public void Only_the_init_s_exit_line_is_read_as_an_exit_code()
    {
        Assert.AreEqual(0, VmConsole.ExitCodeIn("dockertovms: app exited with code 0"));
        Assert.AreEqual(137, VmConsole.ExitCodeIn("dockertovms: app exited with code 137"));
        Assert.IsNull(VmConsole.ExitCodeIn("app exited"));
    }
}
