using System.IO.Compression;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// The small initramfs a disk or ISO image boots with: a static helper (stage1.c, compiled
/// on the build machine) as /init, the kernel modules it needs to reach the root, and its
/// settings. The root filesystem itself may have no shell, so the helper does the work a
/// shell script would: load modules, find and mount the root, switch to it, start its init.
/// </summary>
internal sealed class Stage1Initramfs
{
    /// <summary>Modules the disk boot cannot do without: the ext4 root.</summary>
    public static readonly IReadOnlyList<string> DiskModules = ["ext4", "crc32c_generic"];

    /// <summary>Modules the ISO boot cannot do without: the ISO, its squashfs, the overlay.</summary>
    public static readonly IReadOnlyList<string> IsoModules =
        ["isofs", "loop", "squashfs", "overlay"];

    /// <summary>
    /// Disk and CD controllers a machine may present the image on: virtio (QEMU's default for
    /// speed), SCSI, IDE/SATA and NVMe. A controller built into the kernel is skipped.
    /// </summary>
    public static readonly IReadOnlyList<string> ControllerModules =
    [
        "virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "sr_mod", "ata_piix", "ahci",
        "nvme",
    ];

    private readonly IToolRunner _runner;
    private readonly string _image;

    /// <summary>Creates the builder for the named kind of image (used in messages).</summary>
    public Stage1Initramfs(IToolRunner runner, string image)
    {
        _runner = runner;
        _image = image;
    }

    /// <summary>
    /// Writes the initramfs to <paramref name="output"/>. <paramref name="settings"/> are the
    /// helper's key=value lines (mode, uuid or label, image, init).
    /// </summary>
    public async Task WriteAsync(string rootDirectory, string kernelPath, string workDirectory,
        IReadOnlyList<string> requiredModules, IReadOnlyDictionary<string, string> settings,
        string output, CancellationToken cancellation)
    {
        VmTools.Require(_runner, _image, VmTools.Stage1);
        var modules = KernelModules.Open(rootDirectory);

        // Modules of another kernel release would not load, and the machine would not find
        // its root; a kernel image that does not say its release is taken as it is.
        var release = KernelImage.Release(kernelPath);
        if (release is not null && release != Path.GetFileName(modules.Directory))
        {
            throw new DtvException("VmKernelModulesMismatch", kernelPath, release,
                modules.Directory);
        }

        var files = await modules.ResolveAsync(_runner, requiredModules, ControllerModules,
            _image, cancellation).ConfigureAwait(false);
        var helper = await CompileAsync(workDirectory, cancellation).ConfigureAwait(false);

        // gzip at its smallest: every kernel unpacks it, and it is read from the boot medium.
        using (var file = File.Create(output))
        using (var compressed = new GZipStream(file, CompressionLevel.SmallestSize))
        {
            var archive = new NewcWriter(compressed);
            foreach (var directory in new[] { "dev", "proc", "sys", "root", "cdrom", "lower",
                "upper", "modules" })
            {
                archive.AddDirectory(directory, 0x1ed);
            }

            // The kernel opens /dev/console for /init's standard streams before /init runs.
            archive.AddNode("dev/console", NewcWriter.CharacterDevice | 0x180, 5, 1);
            archive.AddFile("init", 0x1ed, await File.ReadAllBytesAsync(helper, cancellation)
                .ConfigureAwait(false));
            archive.AddFile("stage1.conf", 0x1a4, HostTools.Utf8.GetBytes(string.Concat(
                settings.Select(s => $"{s.Key}={s.Value}\n"))));

            var order = new List<string>();
            foreach (var module in files)
            {
                var name = Path.GetFileName(module);
                order.Add(name);
                archive.AddFile("modules/" + name, 0x1a4, await File.ReadAllBytesAsync(module,
                    cancellation).ConfigureAwait(false));
            }

            archive.AddFile("modules/order", 0x1a4, HostTools.Utf8.GetBytes(
                string.Concat(order.Select(n => n + "\n"))));
            archive.Finish();
        }
    }

    /// <summary>The compiler command for the helper: static, small, stripped.</summary>
    public static ToolCommand CompileCommand(string source, string output) =>
        new("gcc", ["-static", "-Os", "-s", "-o", output, source]);

    private async Task<string> CompileAsync(string workDirectory, CancellationToken cancellation)
    {
        var source = Path.Combine(workDirectory, "stage1.c");
        var output = Path.Combine(workDirectory, "stage1");
        using (var stream = typeof(Stage1Initramfs).Assembly
            .GetManifestResourceStream("DockerToVms.Tasks.Vm.stage1.c")!)
        using (var file = File.Create(source))
        {
            await stream.CopyToAsync(file, cancellation).ConfigureAwait(false);
        }

        await VmTools.RunAsync(_runner, CompileCommand(source, output), _image, cancellation)
            .ConfigureAwait(false);
        return output;
    }
}
