using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>Bad VM settings stop the build early, each with its code and the value.</summary>
[TestClass]
public sealed class VmSettingsTests
{
    private static RecordingBuildEngine Run(string format = "initramfs", string init = "tiny",
        string memory = "512")
    {
        var engine = new RecordingBuildEngine();
        var number = new TaskItem("VmMemoryMegabytes");
        number.SetMetadata("Value", memory);
        number.SetMetadata("Minimum", "64");
        number.SetMetadata("Maximum", "1048576");
        new CheckVmSettingsTask
        {
            BuildEngine = engine,
            Format = format,
            Init = init,
            Numbers = [number],
        }.Execute();
        return engine;
    }

    [TestMethod]
    public void The_defaults_pass() => Expect.Codes(Run());

    [TestMethod]
    public void I_can_choose_the_disk_and_iso_formats()
    {
        Expect.Codes(Run(format: "disk"));
        Expect.Codes(Run(format: "iso"));
    }

    [TestMethod]
    public void A_format_that_does_not_exist_is_refused() =>
        Expect.Codes(Run(format: "vmdk"), "DTV5001");

    [TestMethod]
    public void An_init_that_does_not_exist_is_refused() =>
        Expect.Codes(Run(init: "openrc"), "DTV5002");

    [TestMethod]
    public void I_can_choose_systemd_as_init() => Expect.Codes(Run(init: "systemd"));

    [TestMethod]
    public void A_memory_size_that_is_no_number_or_too_small_is_refused()
    {
        Expect.Codes(Run(memory: "lots"), "DTV5011");
        Expect.Codes(Run(memory: "16"), "DTV5011");
    }

    [TestMethod]
    public void An_accelerator_that_does_not_exist_is_refused()
    {
        var engine = new RecordingBuildEngine();

        new VmRunTask
        {
            BuildEngine = engine,
            Architecture = "amd64",
            ImagePath = "/vm/initramfs.img",
            Accelerator = "hvf",
            Runner = new FakeToolRunner(),
        }.Execute();

        Expect.Codes(engine, "DTV5016");
    }

    [TestMethod]
    public void VmRun_without_a_published_image_says_to_publish_first()
    {
        using var folder = new TemporaryDirectory("dtv-vmrun-");
        var engine = new RecordingBuildEngine();
        var runner = new FakeToolRunner();

        new VmRunTask
        {
            BuildEngine = engine,
            Architecture = "amd64",
            Format = "disk",
            ImagePath = folder.Combine("vm/disk.img"),
            Accelerator = "tcg",
            Runner = runner,
        }.Execute();

        Expect.Codes(engine, "DTV5018");
        Assert.IsEmpty(runner.Commands, "QEMU must not start without its image");
    }

    [TestMethod]
    public void A_root_too_large_for_the_memory_is_refused_with_the_disk_format_suggested()
    {
        using var folder = new TemporaryDirectory("dtv-initramfs-");
        folder.WriteBytes("root/app/big", 2 * 1048576);
        var engine = new RecordingBuildEngine();

        new WriteInitramfsTask
        {
            BuildEngine = engine,
            RootDirectory = folder.Combine("root"),
            OutputPath = folder.Combine("vm/initramfs.img"),
            MemoryMegabytes = 128,
            Runner = new FakeToolRunner(missing: "zstd"),
        }.Execute();

        Expect.Codes(engine, "DTV5005");
        Assert.IsFalse(File.Exists(folder.Combine("vm/initramfs.img")));
    }

    [TestMethod]
    public void A_root_that_fits_is_written_with_zstd_when_the_machine_has_it()
    {
        using var folder = new TemporaryDirectory("dtv-initramfs-");
        folder.Write("root/init", "init");
        var engine = new RecordingBuildEngine();
        var runner = new FakeToolRunner(command =>
        {
            File.WriteAllText(command.Arguments[^1], "compressed");
            return new ToolResult(0, []);
        });

        var task = new WriteInitramfsTask
        {
            BuildEngine = engine,
            RootDirectory = folder.Combine("root"),
            OutputPath = folder.Combine("vm/initramfs.img"),
            Runner = runner,
        };
        task.Execute();

        Expect.Codes(engine);
        Assert.AreEqual("zstd", runner.Commands.Single().Program);
        Assert.AreEqual("compressed", File.ReadAllText(task.ImagePath));
        Expect.Sequence(Directory.GetFiles(folder.Combine("vm")).Select(Path.GetFileName),
            "initramfs.img");
    }
}
