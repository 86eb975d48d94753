using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

[TestClass]
public sealed class VmImageTaskTests
{
    [TestMethod]
    public void A_disk_for_another_architecture_is_not_available_yet()
    {
        using var inputs = new Inputs();
        var (task, engine) = inputs.Disk();
        task.Architecture = "arm64";

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV5051");
        StringAssert.Contains(engine.Errors[0].Message, "'arm64'");
    }

    [TestMethod]
    public void A_missing_tool_names_the_package_that_installs_it()
    {
        using var inputs = new Inputs();
        var (task, engine) = inputs.Disk(new FakeToolRunner(null, "mkfs.ext4"));

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV5050");
        StringAssert.Contains(engine.Errors[0].Message, "'e2fsprogs'");
    }

    [TestMethod]
    public void An_ISO_without_xorriso_names_its_package()
    {
        using var inputs = new Inputs();
        var engine = new RecordingBuildEngine();
        var task = new WriteIsoImageTask
        {
            BuildEngine = engine,
            Runner = new FakeToolRunner(null, "xorriso"),
            RootDirectory = inputs.Root,
            KernelPath = inputs.Kernel,
            OutputPath = inputs.Directory.Combine("out.iso"),
        };

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV5050");
        StringAssert.Contains(engine.Errors[0].Message, "'xorriso'");
    }

    [TestMethod]
    public void A_disk_too_small_for_the_root_says_the_size_it_needs()
    {
        using var inputs = new Inputs();
        var (task, engine) = inputs.Disk();
        task.InitrdPath = inputs.Directory.Write("initrd.img", "initrd");
        task.DiskSizeMegabytes = 40;

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV5052");
        var needed = DiskLayout.OverheadMiB(32) + RootContent.Measure(inputs.Root).Ext4MiB;
        StringAssert.Contains(engine.Errors[0].Message, $"at least {needed} MiB");
    }

    [TestMethod]
    public void A_missing_kernel_init_or_initramfs_is_reported()
    {
        using var inputs = new Inputs();
        var (kernel, kernelEngine) = inputs.Disk();
        kernel.KernelPath = inputs.Directory.Combine("no-vmlinuz");
        var (init, initEngine) = inputs.Disk();
        init.InitPath = "/sbin/missing";
        var (initrd, initrdEngine) = inputs.Disk();
        initrd.InitrdPath = inputs.Directory.Combine("no-initrd");

        Assert.IsFalse(kernel.Execute());
        Assert.IsFalse(init.Execute());
        Assert.IsFalse(initrd.Execute());

        Expect.Codes(kernelEngine, "DTV5055");
        Expect.Codes(initEngine, "DTV5057");
        Expect.Codes(initrdEngine, "DTV5056");
    }

    [TestMethod]
    public void A_kernel_command_line_that_GRUB_would_change_is_refused()
    {
        using var inputs = new Inputs();
        var (task, engine) = inputs.Disk();
        task.KernelCommandLine = "console=ttyS0; reboot";

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV5058");
    }

    [TestMethod]
    public void A_negative_disk_size_is_refused()
    {
        using var inputs = new Inputs();
        var (task, engine) = inputs.Disk();
        task.DiskSizeMegabytes = -1;

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV5059");
    }

    [TestMethod]
    public void A_failing_tool_is_reported_with_its_exit_code_and_last_lines()
    {
        using var inputs = new Inputs();
        var runner = new FakeToolRunner(c =>
            c.Display?.StartsWith("sfdisk", StringComparison.Ordinal) == true
            ? new ToolResult(1, ["sfdisk: cannot write"])
            : new ToolResult(0, []));
        var (task, engine) = inputs.Disk(runner);
        task.InitrdPath = inputs.Directory.Write("initrd.img", "initrd");

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV5060");
        StringAssert.Contains(engine.Errors[0].Message, "sfdisk: cannot write");
        Assert.IsFalse(Directory.Exists(task.OutputPath + ".parts"), "work files are removed");
    }

    [TestMethod]
    public void The_root_file_system_keeps_owners_and_gets_fixed_identifiers()
    {
        var uuid = new Guid("11111111-2222-4333-8444-555555555555");

        var command = DiskImageBuilder.Ext4Command("/root-dir", "/work/root.ext4", uuid, 5000);

        Assert.AreEqual("mkfs.ext4", command.Program);
        StringAssert.Contains(command.ToString(),
            $"-U {uuid} -E root_owner=0:0,hash_seed={uuid} -d /root-dir /work/root.ext4");
        StringAssert.Contains(command.ToString(), "-N 5000");
    }

    [TestMethod]
    public void The_ISO_is_made_with_the_volume_id_the_first_stage_looks_for()
    {
        var label = IsoImageBuilder.VolumeId(new Guid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));

        var command = IsoImageBuilder.RescueCommand("/work/iso", "/out/app.iso", label);
        var squashfs = IsoImageBuilder.SquashfsCommand("/root-dir", "/work/root.squashfs");

        Assert.AreEqual("DTV_0F1E2D3C4B5A", label);
        Expect.Sequence(command.Arguments.TakeLast(3), "--", "-volid", label);
        CollectionAssert.Contains(squashfs.Arguments.ToList(), "zstd");
        CollectionAssert.DoesNotContain(squashfs.Arguments.ToList(), "-all-root");
    }

    // A root with a kernel module and an init, and a kernel, for the tasks' checks.
    private sealed class Inputs : IDisposable
    {
        public Inputs()
        {
            Directory.Write("root/usr/lib/modules/6.12.0-test/kernel/fs/ext4/ext4.ko.xz", "m");
            Directory.Write("root/init", "#!/bin/sh\n");
            Kernel = Directory.Write("vmlinuz", "kernel");
        }

        public TemporaryDirectory Directory { get; } = new();

        public string Root => Directory.Combine("root");

        public string Kernel { get; }

        public (WriteDiskImageTask Task, RecordingBuildEngine Engine) Disk(
            FakeToolRunner? runner = null)
        {
            var engine = new RecordingBuildEngine();
            return (new WriteDiskImageTask
            {
                BuildEngine = engine,
                Runner = runner ?? new FakeToolRunner(),
                RootDirectory = Root,
                KernelPath = Kernel,
                OutputPath = Directory.Combine("out/disk.img"),
            }, engine);
        }

        public void Dispose() => Directory.Dispose();
    }
}
