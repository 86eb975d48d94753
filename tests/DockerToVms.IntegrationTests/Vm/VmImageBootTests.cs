using DockerToVms.IntegrationTests.Infrastructure;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.IntegrationTests.Vm;

/// <summary>
/// Builds a disk image and an ISO image from a trixie root filesystem with the suite's kernel
/// and boots each, with BIOS and with UEFI, under software emulation. The root's init is a
/// shell script that prints a marker and powers the machine off; seeing the marker proves
/// the first stage found, mounted and switched to the root and started its init as PID 1.
/// </summary>
[TestClass]
public sealed class VmImageBootTests
{
    private const string Marker = "dockertovms-test-init";
    private const string InitPath = "/sbin/dtv-test-init";

    // Mounts /proc only to reach the power switch, checks that the root takes writes, then
    // powers off through sysrq (the root has no poweroff helper of its own).
    private const string InitScript = """
        #!/bin/sh
        mount -t proc proc /proc
        if echo ok > /var/tmp/dtv-write-test; then writable=yes; else writable=no; fi
        echo "dockertovms-test-init pid=$$ writable=$writable"
        echo o > /proc/sysrq-trigger
        sleep 60
        """;

    private static TemporaryRootfs? s_root;
    private static string s_output = string.Empty;
    private static Task<string>? s_disk;
    private static Task<string>? s_iso;

    [ClassInitialize]
    public static async Task PrepareRootAsync(TestContext context)
    {
        _ = context;
        await SuiteKernel.GetAsync();
        s_root = await SharedRootfs.CopyAsync();
        s_output = Directory.CreateTempSubdirectory("dtv-vm-").FullName;

        // The package lists and downloaded packages only make the images larger and slower.
        foreach (var folder in new[] { "var/lib/apt/lists", "var/cache/apt" })
        {
            var path = Path.Combine(s_root.Directory, folder);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
                Directory.CreateDirectory(path);
            }
        }

        var modules = Path.Combine(s_root.Directory, "usr", "lib", "modules");
        Directory.CreateDirectory(modules);
        await Tool.RunAsync("cp", "-a", SuiteKernel.Modules, modules);
        var init = Path.Combine(s_root.Directory, InitPath.TrimStart('/'));
        await File.WriteAllTextAsync(init, InitScript.Replace("\r", "", StringComparison.Ordinal)
            + "\n");
        File.SetUnixFileMode(init, (UnixFileMode)0x1ed);
    }

    [ClassCleanup]
    public static void RemoveRoot()
    {
        s_root?.Dispose();
        if (s_output.Length > 0)
        {
            Directory.Delete(s_output, recursive: true);
        }
    }

    [TestMethod]
    public async Task A_disk_image_boots_the_root_with_BIOS()
    {
        var disk = await DiskAsync();

        var boot = await QemuBoot.RunAsync(Marker, uefi: false, s_output,
            "-drive", $"file={disk},format=raw,if=virtio");

        await AssertBootedAsync(boot, "disk, BIOS", disk);
    }

    [TestMethod]
    public async Task A_disk_image_boots_the_root_with_UEFI()
    {
        var disk = await DiskAsync();

        var boot = await QemuBoot.RunAsync(Marker, uefi: true, s_output,
            "-drive", $"file={disk},format=raw,if=virtio");

        await AssertBootedAsync(boot, "disk, UEFI", disk);
    }

    [TestMethod]
    public async Task An_ISO_image_boots_the_root_with_BIOS_from_a_CD_drive()
    {
        var iso = await IsoAsync();

        var boot = await QemuBoot.RunAsync(Marker, uefi: false, s_output, "-cdrom", iso);

        await AssertBootedAsync(boot, "ISO, BIOS", iso);
    }

    [TestMethod]
    public async Task An_ISO_image_boots_the_root_with_UEFI_from_a_CD_drive()
    {
        var iso = await IsoAsync();

        var boot = await QemuBoot.RunAsync(Marker, uefi: true, s_output, "-cdrom", iso);

        await AssertBootedAsync(boot, "ISO, UEFI", iso);
    }

    [TestMethod]
    public async Task The_same_root_gives_the_same_disk_image_byte_for_byte()
    {
        // ext4 keeps each file's access time, which the first read of a file after its
        // change moves (relatime); the images built after that one must be the same.
        await DiskAsync();
        var first = Path.Combine(s_output, "first.img");
        var second = Path.Combine(s_output, "second.img");

        var engine = new RecordingBuildEngine();
        var succeeded = DiskTask(engine, first).Execute() && DiskTask(engine, second).Execute();

        Assert.IsTrue(succeeded, engine.Log);
        Assert.AreEqual(await Dump(first), await Dump(second));
        Assert.AreEqual(string.Empty, await DifferingMiBAsync(first, second));
        File.Delete(first);
        File.Delete(second);
    }

    // The partition table with the image's own path taken out.
    private static async Task<string> Dump(string image) =>
        (await Tool.RunAsync("sfdisk", "--dump", image)).Replace(image, "disk",
            StringComparison.Ordinal);

    // The MiB (offsets) at which two images differ, the first few, for the failure message.
    private static async Task<string> DifferingMiBAsync(string first, string second)
    {
        const int MiB = 1024 * 1024;
        await using var a = File.OpenRead(first);
        await using var b = File.OpenRead(second);
        var left = new byte[MiB];
        var right = new byte[MiB];
        var differing = new List<long>();
        for (long index = 0; differing.Count < 8; index++)
        {
            var read = await a.ReadAtLeastAsync(left, MiB, throwOnEndOfStream: false);
            await b.ReadAtLeastAsync(right, MiB, throwOnEndOfStream: false);
            if (read == 0)
            {
                break;
            }

            if (!left.AsSpan(0, read).SequenceEqual(right.AsSpan(0, read)))
            {
                differing.Add(index);
            }
        }

        return string.Join(", ", differing);
    }

    private static async Task AssertBootedAsync(BootResult boot, string what, string image)
    {
        Assert.IsTrue(boot.ExitedByItself,
            $"{what}: QEMU did not power off by itself.\n{boot.Console}");
        StringAssert.Contains(boot.Console, "dockertovms-test-init pid=1 writable=yes",
            $"{what}:\n{boot.Console}");
        Assert.AreEqual(0, boot.ExitCode, boot.Console);
        Assert.IsEmpty(s_root!.Mounts);
        Assert.AreEqual(string.Empty, (await Tool.RunAsync("losetup", "-j", image)).Trim(),
            "the image was never attached to a loop device");

        // Measurements for the limitations page: boot-to-marker time and the image's size.
        Console.WriteLine($"{what}: marker after {boot.MarkerAfter!.Value.TotalSeconds:0.0} s;"
            + $" image {new FileInfo(image).Length / (1024 * 1024)} MiB");
    }

    private static Task<string> DiskAsync() => s_disk ??= BuildDiskAsync();

    private static Task<string> IsoAsync() => s_iso ??= BuildIsoAsync();

    private static WriteDiskImageTask DiskTask(RecordingBuildEngine engine, string output) => new()
    {
        BuildEngine = engine,
        RootDirectory = s_root!.Directory,
        KernelPath = SuiteKernel.Vmlinuz,
        InitPath = InitPath,
        OutputPath = output,
    };

    private static async Task<string> BuildDiskAsync()
    {
        var engine = new RecordingBuildEngine();
        var output = Path.Combine(s_output, "disk.img");
        var task = DiskTask(engine, output);
        task.QcowOutputPath = Path.Combine(s_output, "disk.qcow2");

        var succeeded = await Task.Run(task.Execute);

        Assert.IsTrue(succeeded, engine.Log);
        Assert.IsTrue(File.Exists(task.QcowOutputPath), engine.Log);
        Console.WriteLine($"disk image: {new FileInfo(output).Length / (1024 * 1024)} MiB raw,"
            + $" {new FileInfo(task.QcowOutputPath).Length / (1024 * 1024)} MiB qcow2");
        return task.ImagePath;
    }

    private static async Task<string> BuildIsoAsync()
    {
        var engine = new RecordingBuildEngine();
        var task = new WriteIsoImageTask
        {
            BuildEngine = engine,
            RootDirectory = s_root!.Directory,
            KernelPath = SuiteKernel.Vmlinuz,
            InitPath = InitPath,
            OutputPath = Path.Combine(s_output, "root.iso"),
        };

        var succeeded = await Task.Run(task.Execute);

        Assert.IsTrue(succeeded, engine.Log);
        return task.ImagePath;
    }
}
