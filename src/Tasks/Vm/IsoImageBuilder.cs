using System.Globalization;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Builds a hybrid ISO that boots with BIOS and UEFI, from a CD drive or as a disk: GRUB
/// (grub-mkrescue with xorriso) boots the kernel with the first-stage initramfs, which mounts
/// the ISO, the root filesystem's squashfs on it, and a tmpfs overlay that makes it writable.
/// </summary>
internal sealed class IsoImageBuilder
{
    /// <summary>Where the squashfs lies on the ISO.</summary>
    public const string SquashfsPath = "/live/root.squashfs";

    /// <summary>The GRUB modules copied onto the ISO; grub-mkrescue would copy them all.</summary>
    public static readonly IReadOnlyList<string> GrubModules =
    [
        "linux", "normal", "iso9660", "search", "search_fs_uuid", "search_label",
        "search_fs_file", "part_msdos", "part_gpt", "fat", "configfile", "echo", "test", "boot",
    ];

    // Timestamps in the ISO (xorriso) and the squashfs come from this time, not the clock.
    private const long FixedTime = 1577836800;

    private readonly IToolRunner _runner;

    /// <summary>Creates the builder.</summary>
    public IsoImageBuilder(IToolRunner runner) => _runner = runner;

    /// <summary>Writes the ISO image and returns its volume id.</summary>
    public async Task<string> BuildAsync(VmImageInputs inputs, string output,
        CancellationToken cancellation)
    {
        inputs.Validate("ISO");
        VmTools.Require(_runner, "ISO", VmTools.Iso);

        var work = output + ".parts";
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }

        var staging = Path.Combine(work, "iso");
        Directory.CreateDirectory(Path.Combine(staging, "boot", "grub"));
        Directory.CreateDirectory(Path.Combine(staging, "live"));
        try
        {
            var content = RootContent.Measure(inputs.RootDirectory);
            var label = VolumeId(content.Seed);

            var initrd = Path.Combine(staging, "boot", "initrd.img");
            if (inputs.HasOwnInitrd)
            {
                File.Copy(inputs.InitrdPath, initrd);
            }
            else
            {
                var settings = new Dictionary<string, string>
                {
                    ["mode"] = "iso",
                    ["label"] = label,
                    ["image"] = SquashfsPath,
                    ["init"] = inputs.InitPath,
                };
                await new Stage1Initramfs(_runner, "ISO").WriteAsync(inputs.RootDirectory,
                    inputs.KernelPath, work,
                    [.. Stage1Initramfs.IsoModules], settings, initrd, cancellation)
                    .ConfigureAwait(false);
            }

            File.Copy(inputs.KernelPath, Path.Combine(staging, "boot", "vmlinuz"));
            await File.WriteAllTextAsync(Path.Combine(staging, "boot", "grub", "grub.cfg"),
                inputs.GrubConfig("/boot/vmlinuz", "/boot/initrd.img"), cancellation)
                .ConfigureAwait(false);

            await VmTools.RunAsync(_runner, SquashfsCommand(inputs.RootDirectory,
                Path.Combine(staging, "live", "root.squashfs")), "ISO", cancellation)
                .ConfigureAwait(false);
            if (File.Exists(output))
            {
                File.Delete(output);
            }

            await VmTools.RunAsync(_runner, RescueCommand(staging, output, label), "ISO",
                cancellation).ConfigureAwait(false);
            return label;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// The ISO's volume id, which the first stage looks for: from the root's seed, so two
    /// different images attached to one machine are told apart.
    /// </summary>
    public static string VolumeId(Guid seed) =>
        "DTV_" + seed.ToString("N")[..12].ToUpperInvariant();

    /// <summary>
    /// mksquashfs of the root directory, keeping its owners and modes, zstd-compressed, with
    /// a fixed creation time.
    /// </summary>
    public static ToolCommand SquashfsCommand(string directory, string output) =>
        new("mksquashfs", [directory, output, "-noappend", "-comp", "zstd", "-quiet",
            "-no-progress", "-mkfs-time", FixedTime.ToString(CultureInfo.InvariantCulture)]);

    /// <summary>grub-mkrescue making the BIOS and UEFI bootable ISO from the staging tree.</summary>
    public static ToolCommand RescueCommand(string staging, string output, string label) =>
        new("grub-mkrescue", ["-o", output, "--install-modules=" + string.Join(' ', GrubModules),
            "--fonts=", "--locales=", "--themes=", staging, "--", "-volid", label])
        {
            Environment = new Dictionary<string, string?>
            {
                ["SOURCE_DATE_EPOCH"] = FixedTime.ToString(CultureInfo.InvariantCulture),
            },
        };
}
