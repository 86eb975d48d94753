using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

[TestClass]
public sealed class KernelModulesTests
{
    private const string Version = "6.12.0-test-amd64";

    [TestMethod]
    public async Task Modules_come_after_the_modules_they_depend_on()
    {
        using var root = RootWithModules("fs/ext4/ext4.ko.xz", "fs/jbd2/jbd2.ko.xz",
            "lib/crc16.ko.xz", "fs/mbcache.ko.xz", "drivers/nvme/host/nvme-core.ko.xz",
            "drivers/nvme/host/nvme.ko.xz");
        var runner = new FakeToolRunner(c => Dependencies(c, new()
        {
            ["ext4"] = "jbd2,crc16,mbcache",
            ["jbd2"] = "crc16",
            ["nvme"] = "nvme-core",
        }));

        var files = await KernelModules.Open(root.Path).ResolveAsync(runner, ["ext4"],
            ["nvme", "virtio_blk"], "disk", CancellationToken.None);

        Expect.Sequence(files.Select(ModuleDependencies.NameOf),
            "crc16", "jbd2", "mbcache", "ext4", "nvme_core", "nvme");
    }

    [TestMethod]
    public async Task Modules_built_into_the_kernel_are_not_needed_as_files()
    {
        using var root = RootWithModules("fs/ext4/ext4.ko.xz");
        root.Write($"usr/lib/modules/{Version}/modules.builtin",
            "kernel/drivers/virtio/virtio_pci.ko\nkernel/lib/crc16.ko\n");
        var runner = new FakeToolRunner(c => Dependencies(c, new() { ["ext4"] = "crc16" }));

        var files = await KernelModules.Open(root.Path).ResolveAsync(runner,
            ["virtio_pci", "ext4"], [], "disk", CancellationToken.None);

        Expect.Sequence(files.Select(ModuleDependencies.NameOf), "ext4");
    }

    [TestMethod]
    public async Task A_missing_module_that_the_root_needs_is_reported()
    {
        using var root = RootWithModules("fs/isofs/isofs.ko.xz");

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            KernelModules.Open(root.Path).ResolveAsync(new FakeToolRunner(), ["squashfs"], [],
                "ISO", CancellationToken.None));

        Assert.AreEqual("DTV5054", error.Code);
        Assert.AreEqual("squashfs", error.Arguments[0]);
    }

    [TestMethod]
    public void A_root_without_kernel_modules_is_reported()
    {
        using var root = new TemporaryDirectory();
        Directory.CreateDirectory(root.Combine("usr/lib/modules"));

        var error = Assert.ThrowsExactly<DtvException>(() => KernelModules.Open(root.Path));

        Assert.AreEqual("DTV5053", error.Code);
        Assert.AreEqual(0, error.Arguments[1]);
    }

    [TestMethod]
    public void A_root_with_two_kernel_versions_is_reported()
    {
        using var root = RootWithModules("fs/ext4/ext4.ko.xz");
        root.Write("usr/lib/modules/6.1.0-old/kernel/fs/ext4/ext4.ko", "");

        var error = Assert.ThrowsExactly<DtvException>(() => KernelModules.Open(root.Path));

        Assert.AreEqual("DTV5053", error.Code);
        Assert.AreEqual(2, error.Arguments[1]);
    }

    private static TemporaryDirectory RootWithModules(params string[] files)
    {
        var root = new TemporaryDirectory();
        foreach (var file in files)
        {
            root.Write($"usr/lib/modules/{Version}/kernel/{file}", "module");
        }

        return root;
    }

    // modinfo -F depends answers with the module's comma-separated dependencies.
    private static ToolResult Dependencies(ToolCommand command,
        Dictionary<string, string> dependencies)
    {
        Assert.AreEqual("modinfo", command.Program);
        var name = ModuleDependencies.NameOf(command.Arguments[^1]);
        return new ToolResult(0, dependencies.TryGetValue(name, out var list) ? [list] : [""]);
    }
}
