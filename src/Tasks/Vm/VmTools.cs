using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// The host programs and GRUB files that building disk and ISO images needs, each with the
/// Debian package that installs it, so that a missing one is reported with its fix.
/// </summary>
internal static class VmTools
{
    /// <summary>GRUB's BIOS modules and boot sector (grub-pc-bin).</summary>
    public const string GrubBiosDirectory = "/usr/lib/grub/i386-pc";

    /// <summary>GRUB's 64-bit UEFI modules (grub-efi-amd64-bin).</summary>
    public const string GrubEfiDirectory = "/usr/lib/grub/x86_64-efi";

    /// <summary>The tools the disk image needs: program (or file) and package.</summary>
    public static readonly IReadOnlyList<(string Program, string Package)> Disk =
    [
        ("mkfs.ext4", "e2fsprogs"),
        ("mkfs.fat", "dosfstools"),
        ("mmd", "mtools"),
        ("mcopy", "mtools"),
        ("sfdisk", "fdisk"),
        ("grub-mkimage", "grub-common"),
        (GrubBiosDirectory + "/moddep.lst", "grub-pc-bin"),
        (GrubEfiDirectory + "/moddep.lst", "grub-efi-amd64-bin"),
    ];

    /// <summary>The tools the ISO image needs: program (or file) and package.</summary>
    public static readonly IReadOnlyList<(string Program, string Package)> Iso =
    [
        ("mksquashfs", "squashfs-tools"),
        ("grub-mkrescue", "grub-common"),
        ("xorriso", "xorriso"),
        ("mformat", "mtools"),
        (GrubBiosDirectory + "/moddep.lst", "grub-pc-bin"),
        (GrubEfiDirectory + "/moddep.lst", "grub-efi-amd64-bin"),
    ];

    /// <summary>The tools the first-stage initramfs needs: the C compiler and modinfo.</summary>
    public static readonly IReadOnlyList<(string Program, string Package)> Stage1 =
    [
        ("gcc", "gcc"),
        ("modinfo", "kmod"),
    ];

    /// <summary>Throws the coded error for the first tool of the list that is missing.</summary>
    public static void Require(IToolRunner runner, string image,
        IEnumerable<(string Program, string Package)> tools)
    {
        foreach (var (program, package) in tools)
        {
            if (runner.Find(program) is null)
            {
                throw new DtvException("VmToolMissing", program, image, package);
            }
        }
    }

    /// <summary>Runs a tool and throws the coded error with its last lines when it fails.</summary>
    public static async Task<ToolResult> RunAsync(IToolRunner runner, ToolCommand command,
        string image, CancellationToken cancellation)
    {
        var result = await runner.RunAsync(command, cancellation).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            if (DiskFull.LineIn(result) is { } line)
            {
                var target = command.Arguments.Count > 0 ? command.Arguments[^1] : command.Program;
                throw new DtvException("DiskFull", target, line);
            }

            throw new DtvException("VmToolFailed", command.Program, result.ExitCode, image,
                result.Tail);
        }

        return result;
    }
}
