using System.Globalization;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Builds a raw disk image that boots with BIOS and with UEFI, without loop devices or
/// mounts: each file system is made as a file of its own (ext4 filled from the root
/// directory, FAT written with mtools) and copied into the image at its partition's offset;
/// the partition table is written by sfdisk on the image file and GRUB's BIOS stages are
/// placed by <see cref="GrubBiosBoot"/>.
/// </summary>
internal sealed class DiskImageBuilder
{
    /// <summary>The ext4 root's label.</summary>
    public const string RootLabel = "dtvroot";

    /// <summary>GRUB modules both platforms' images hold, so GRUB never loads one from disk.</summary>
    public static readonly IReadOnlyList<string> GrubModules =
    [
        "part_gpt", "fat", "search", "search_fs_uuid", "normal", "linux", "boot", "configfile",
        "echo", "test",
    ];

    // Files on the ESP get this time, so the same inputs give the same FAT image.
    private static readonly DateTime s_fileTime = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly Dictionary<string, string?> s_mtools = new()
    {
        // mtools checks a FAT's geometry against a floppy's; an image file has none.
        ["MTOOLS_SKIP_CHECK"] = "1",
        ["SOURCE_DATE_EPOCH"] = "1577836800",
    };

    private readonly IToolRunner _runner;

    /// <summary>Creates the builder.</summary>
    public DiskImageBuilder(IToolRunner runner) => _runner = runner;

    /// <summary>
    /// Writes the image; <paramref name="diskMegabytes"/> 0 picks a size with room to spare.
    /// Returns the layout used.
    /// </summary>
    public async Task<DiskLayout> BuildAsync(VmImageInputs inputs, long diskMegabytes,
        string output, string qcowOutput, CancellationToken cancellation)
    {
        inputs.Validate("disk");
        if (diskMegabytes < 0)
        {
            throw new DtvException("VmDiskSizeInvalid", diskMegabytes);
        }

        VmTools.Require(_runner, "disk", VmTools.Disk);
        if (qcowOutput.Length > 0)
        {
            VmTools.Require(_runner, "disk", [("qemu-img", "qemu-utils")]);
        }

        var work = output + ".parts";
        RecreateDirectory(work);
        try
        {
            var layout = await BuildInAsync(work, inputs, diskMegabytes, output, cancellation)
                .ConfigureAwait(false);
            if (qcowOutput.Length > 0)
            {
                await VmTools.RunAsync(_runner, QcowCommand(output, qcowOutput), "disk",
                    cancellation).ConfigureAwait(false);
            }

            return layout;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private async Task<DiskLayout> BuildInAsync(string work, VmImageInputs inputs,
        long diskMegabytes, string output, CancellationToken cancellation)
    {
        var content = RootContent.Measure(inputs.RootDirectory);
        var rootUuid = DiskLayout.Derive(content.Seed, 10);
        var initrd = await InitrdAsync(work, inputs, rootUuid, cancellation).ConfigureAwait(false);

        var espMiB = DiskLayout.EspMiB(new FileInfo(inputs.KernelPath).Length,
            new FileInfo(initrd).Length);
        var rootMiB = content.Ext4MiB;
        var totalMiB = diskMegabytes > 0
            ? diskMegabytes
            : DiskLayout.DefaultTotalMiB(espMiB, rootMiB);
        var layout = DiskLayout.Create(totalMiB, espMiB, rootMiB, content.Seed)
            ?? throw new DtvException("VmDiskTooSmall", totalMiB, inputs.RootDirectory,
                DiskLayout.OverheadMiB(espMiB) + rootMiB);

        CreateSparseFile(output, layout.TotalMiB * DiskLayout.MiB);
        var script = Path.Combine(work, "partitions.sfdisk");
        await File.WriteAllTextAsync(script, layout.SfdiskScript(), cancellation)
            .ConfigureAwait(false);
        await VmTools.RunAsync(_runner, SfdiskCommand(output, script), "disk", cancellation)
            .ConfigureAwait(false);

        var esp = await EspAsync(work, inputs, initrd, layout, cancellation).ConfigureAwait(false);
        var root = Path.Combine(work, "root.ext4");
        CreateSparseFile(root, layout.Root.Bytes);
        await VmTools.RunAsync(_runner, Ext4Command(inputs.RootDirectory, root, rootUuid,
            content.Inodes), "disk", cancellation).ConfigureAwait(false);

        await CopyIntoAsync(esp, output, layout.Esp.Offset, cancellation).ConfigureAwait(false);
        await CopyIntoAsync(root, output, layout.Root.Offset, cancellation).ConfigureAwait(false);

        var core = Path.Combine(work, "core.img");
        await VmTools.RunAsync(_runner, GrubImageCommand("i386-pc", core,
            EarlyConfig(work, layout)), "disk", cancellation).ConfigureAwait(false);
        GrubBiosBoot.Install(output,
            await File.ReadAllBytesAsync(Path.Combine(VmTools.GrubBiosDirectory, "boot.img"),
                cancellation).ConfigureAwait(false),
            await File.ReadAllBytesAsync(core, cancellation).ConfigureAwait(false),
            layout.BiosBoot);
        return layout;
    }

    private async Task<string> InitrdAsync(string work, VmImageInputs inputs, Guid rootUuid,
        CancellationToken cancellation)
    {
        if (inputs.HasOwnInitrd)
        {
            return inputs.InitrdPath;
        }

        var initrd = Path.Combine(work, "initrd.img");
        var settings = new Dictionary<string, string>
        {
            ["mode"] = "disk",
            ["uuid"] = rootUuid.ToString("N"),
            ["init"] = inputs.InitPath,
        };
        await new Stage1Initramfs(_runner, "disk").WriteAsync(inputs.RootDirectory,
            inputs.KernelPath, work, [.. Stage1Initramfs.DiskModules], settings, initrd,
            cancellation).ConfigureAwait(false);
        return initrd;
    }

    // The ESP holds GRUB for UEFI at the path firmware boots without any boot entry, the
    // kernel, the initramfs and the GRUB configuration both platforms read.
    private async Task<string> EspAsync(string work, VmImageInputs inputs, string initrd,
        DiskLayout layout, CancellationToken cancellation)
    {
        var esp = Path.Combine(work, "esp.fat");
        CreateSparseFile(esp, layout.Esp.Bytes);
        await VmTools.RunAsync(_runner, FatCommand(esp, VolumeId(layout)), "disk", cancellation)
            .ConfigureAwait(false);

        var efi = Path.Combine(work, "BOOTX64.EFI");
        await VmTools.RunAsync(_runner, GrubImageCommand("x86_64-efi", efi,
            EarlyConfig(work, layout)), "disk", cancellation).ConfigureAwait(false);
        var config = Path.Combine(work, "grub.cfg");
        await File.WriteAllTextAsync(config, inputs.GrubConfig("/boot/vmlinuz",
            "/boot/initrd.img"), cancellation).ConfigureAwait(false);

        var folders = new ToolCommand("mmd",
            ["-i", esp, "::/EFI", "::/EFI/BOOT", "::/boot", "::/boot/grub"])
        {
            Environment = s_mtools,
        };
        await VmTools.RunAsync(_runner, folders, "disk", cancellation).ConfigureAwait(false);
        foreach (var (source, target) in new[]
        {
            (efi, "::/EFI/BOOT/BOOTX64.EFI"),
            (inputs.KernelPath, "::/boot/vmlinuz"),
            (initrd, "::/boot/initrd.img"),
            (config, "::/boot/grub/grub.cfg"),
        })
        {
            var copy = source;
            if (!copy.StartsWith(work, StringComparison.Ordinal))
            {
                copy = Path.Combine(work, Path.GetFileName(target[3..]));
                File.Copy(source, copy, overwrite: true);
            }

            File.SetLastWriteTimeUtc(copy, s_fileTime);
            var mcopy = new ToolCommand("mcopy", ["-m", "-i", esp, copy, target])
            {
                Environment = s_mtools,
            };
            await VmTools.RunAsync(_runner, mcopy, "disk", cancellation).ConfigureAwait(false);
        }

        return esp;
    }

    /// <summary>The FAT volume id (serial number) GRUB searches for, as eight hex digits.</summary>
    public static string VolumeId(DiskLayout layout) =>
        layout.Esp.Id.ToString("N")[..8].ToUpperInvariant();

    // GRUB's embedded configuration: find the ESP by its volume id (hd0 is not always the
    // disk that booted) and read the rest of the configuration from it.
    private static string EarlyConfig(string work, DiskLayout layout)
    {
        var id = VolumeId(layout);
        var path = Path.Combine(work, "early.cfg");
        File.WriteAllText(path, $"search --no-floppy --fs-uuid --set=root {id[..4]}-{id[4..]}\n"
            + "set prefix=($root)/boot/grub\n");
        return path;
    }

    /// <summary>sfdisk writing the script's GPT into the image file (no device involved).</summary>
    public static ToolCommand SfdiskCommand(string disk, string script) =>
        new("sh", ["-c", "exec sfdisk --quiet --no-reread --no-tell-kernel \"$1\" < \"$2\"",
            "sfdisk", disk, script])
        {
            Display = $"sfdisk --no-reread --no-tell-kernel {disk} < {script}",
        };

    /// <summary>mkfs.fat on a file, with a fixed volume id and no time-dependent fields.</summary>
    public static ToolCommand FatCommand(string image, string volumeId) =>
        new("mkfs.fat", ["--invariant", "-i", volumeId, "-n", "DTVESP", image]);

    /// <summary>
    /// mkfs.ext4 filling a file from the directory: owners as in the directory (root_owner
    /// for the root directory itself), fixed UUID and hash seed, no reserved blocks.
    /// </summary>
    public static ToolCommand Ext4Command(string directory, string image, Guid uuid, long inodes) =>
        new("mkfs.ext4", ["-F", "-q", "-t", "ext4", "-b", "4096", "-m", "0",
            "-N", inodes.ToString(CultureInfo.InvariantCulture),
            "-J", "size=" + RootContent.JournalMiB.ToString(CultureInfo.InvariantCulture),
            "-L", RootLabel, "-U", uuid.ToString(),
            "-E", $"root_owner=0:0,hash_seed={uuid}", "-d", directory, image])
        {
            Environment = new Dictionary<string, string?> { ["E2FSPROGS_FAKE_TIME"] = "1577836800" },
        };

    /// <summary>grub-mkimage for a platform with the modules and the embedded configuration.</summary>
    public static ToolCommand GrubImageCommand(string platform, string output, string config) =>
        new("grub-mkimage", ["-O", platform, "-o", output, "-p", "/boot/grub", "-c", config,
            .. GrubModules, platform == "i386-pc" ? "biosdisk" : "efi_gop"]);

    /// <summary>qemu-img making the qcow2 copy.</summary>
    public static ToolCommand QcowCommand(string raw, string qcow) =>
        new("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow]);

    private static void RecreateDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }

        Directory.CreateDirectory(path);
    }

    private static void CreateSparseFile(string path, long bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.SetLength(bytes);
    }

    // Copies a partition's file system into the image, skipping runs of zeros so the image
    // stays as sparse as its parts.
    private static async Task CopyIntoAsync(string source, string disk, long offset,
        CancellationToken cancellation)
    {
        const int Chunk = 1024 * 1024;
        var buffer = new byte[Chunk];
        await using var input = new FileStream(source, FileMode.Open, FileAccess.Read);
        await using var output = new FileStream(disk, FileMode.Open, FileAccess.Write);
        long position = 0;
        int read;
        while ((read = await input.ReadAsync(buffer, cancellation).ConfigureAwait(false)) > 0)
        {
            if (buffer.AsSpan(0, read).ContainsAnyExcept((byte)0))
            {
                output.Position = offset + position;
                await output.WriteAsync(buffer.AsMemory(0, read), cancellation)
                    .ConfigureAwait(false);
            }

            position += read;
        }
    }
}
