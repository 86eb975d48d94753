using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>
/// KVM only when a kernel really boots under it: a device that opens is not enough, a QEMU
/// that fails or hangs means software emulation, and the probe never waits past its limit.
/// </summary>
[TestClass]
public sealed class KvmProbeTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-kvm-");

    public void Dispose() => _folder.Dispose();

    // A file stands in for /dev/kvm: it opens for reading and writing as a working one does.
    private string Device() => _folder.Write("kvm", string.Empty);

    private static Task<string> Choose(KvmProbe probe, string architecture = "") =>
        probe.ChooseAsync(architecture.Length > 0 ? architecture : DebianArchitecture.Host,
            "/vm/vmlinuz", TimeSpan.FromSeconds(2), CancellationToken.None);

    [TestMethod]
    public async Task A_kernel_that_boots_under_KVM_means_KVM()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(0,
            ["Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"]));

        var choice = await Choose(new KvmProbe(runner, Device()));

        Assert.AreEqual("kvm", choice);
        var command = runner.Commands.Single();
        CollectionAssert.Contains(command.Arguments.ToList(), "kvm");
        CollectionAssert.Contains(command.Arguments.ToList(), "/vm/vmlinuz");
        CollectionAssert.DoesNotContain(command.Arguments.ToList(), "-initrd");
    }

    [TestMethod]
    public async Task A_kernel_that_crashes_under_KVM_means_software_emulation()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(0,
        [
            "RIP: 0010:sched_clock_cpu+0x9/0x1d0",
            "Kernel panic - not syncing: Fatal exception in interrupt",
        ]));
        var probe = new KvmProbe(runner, Device());

        Assert.AreEqual("tcg", await Choose(probe));
        StringAssert.Contains(probe.Reason, "crashed");
    }

    [TestMethod]
    public async Task A_QEMU_that_fails_with_KVM_means_software_emulation()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(1, ["failed to set MSR"]));

        Assert.AreEqual("tcg", await Choose(new KvmProbe(runner, Device())));
    }

    [TestMethod]
    public async Task A_KVM_that_hangs_means_software_emulation_within_the_time_limit()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var probe = new KvmProbe(new HangingRunner(), Device());

        var choice = await Choose(probe);

        Assert.AreEqual("tcg", choice);
        Assert.IsLessThan(TimeSpan.FromSeconds(10), clock.Elapsed);
        StringAssert.Contains(probe.Reason, "did not finish");
    }

    [TestMethod]
    public async Task Without_a_KVM_device_nothing_is_started()
    {
        var runner = new FakeToolRunner();

        var choice = await Choose(new KvmProbe(runner, _folder.Combine("missing")));

        Assert.AreEqual("tcg", choice);
        Assert.IsEmpty(runner.Commands);
    }

    [TestMethod]
    public async Task Another_architecture_than_the_machine_s_is_emulated()
    {
        var runner = new FakeToolRunner();
        var other = DebianArchitecture.Host == "amd64" ? "arm64" : "amd64";

        Assert.AreEqual("tcg", await Choose(new KvmProbe(runner, Device()), other));
        Assert.IsEmpty(runner.Commands);
    }

    /// <summary>A runner whose commands never end until they are cancelled.</summary>
    internal sealed class HangingRunner : IToolRunner
    {
        public List<ToolCommand> Commands { get; } = [];

        public async Task<ToolResult> RunAsync(ToolCommand command,
            CancellationToken cancellation)
        {
            Commands.Add(command);
            await Task.Delay(Timeout.Infinite, cancellation);
            return new ToolResult(0, []);
        }

        public Task<ToolResult> RunPipedAsync(ToolCommand command,
            Func<Stream, CancellationToken, Task> consumeOutput, CancellationToken cancellation) =>
            RunAsync(command, cancellation);

        public string? Find(string program) => "/usr/bin/" + program;
    }
}
