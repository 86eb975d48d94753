using System.Globalization;
using System.Text;

namespace DockerToVms.Tasks.Vm;

/// <summary>One partition: where it starts and how long it is, in 512-byte sectors.</summary>
internal sealed record Partition(string Name, string Type, Guid Id, long Start, long Sectors)
{
    /// <summary>The partition's first byte in the disk image.</summary>
    public long Offset => Start * DiskLayout.SectorSize;

    /// <summary>The partition's size in bytes.</summary>
    public long Bytes => Sectors * DiskLayout.SectorSize;
}

/// <summary>
/// The partitions of a disk image that boots with BIOS and UEFI alike: a GPT with a BIOS boot
/// partition (GRUB's core image), an EFI system partition (GRUB for UEFI, the kernel, the
/// initramfs) and the ext4 root. Everything is aligned to whole MiB; the last MiB holds the
/// backup GPT.
/// </summary>
internal sealed class DiskLayout
{
    /// <summary>The sector size the layout counts in.</summary>
    public const int SectorSize = 512;

    /// <summary>One MiB.</summary>
    public const long MiB = 1024 * 1024;

    /// <summary>GPT type of a BIOS boot partition.</summary>
    public const string BiosBootType = "21686148-6449-6E6F-744E-656564454649";

    /// <summary>GPT type of an EFI system partition.</summary>
    public const string EspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

    /// <summary>GPT type of a Linux file system.</summary>
    public const string LinuxType = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

    private const long SectorsPerMiB = MiB / SectorSize;

    private DiskLayout(Guid diskId, long totalMiB, Partition biosBoot, Partition esp,
        Partition root)
    {
        DiskId = diskId;
        TotalMiB = totalMiB;
        BiosBoot = biosBoot;
        Esp = esp;
        Root = root;
    }

    /// <summary>The GPT disk GUID.</summary>
    public Guid DiskId { get; }

    /// <summary>The size of the whole image in MiB.</summary>
    public long TotalMiB { get; }

    /// <summary>The BIOS boot partition holding GRUB's core image (1 MiB, at 1 MiB).</summary>
    public Partition BiosBoot { get; }

    /// <summary>The EFI system partition.</summary>
    public Partition Esp { get; }

    /// <summary>The root partition: the rest of the disk.</summary>
    public Partition Root { get; }

    /// <summary>
    /// The MiB before the root partition and after it: the protective MBR and GPT (1), the
    /// BIOS boot partition (1), the ESP, and the backup GPT (1).
    /// </summary>
    public static long OverheadMiB(long espMiB) => 3 + espMiB;

    /// <summary>
    /// Lays out a disk of <paramref name="totalMiB"/>; returns null when the root partition
    /// would be smaller than <paramref name="rootMiB"/>. <paramref name="seed"/> makes the
    /// GUIDs: the same seed gives the same layout.
    /// </summary>
    public static DiskLayout? Create(long totalMiB, long espMiB, long rootMiB, Guid seed)
    {
        var available = totalMiB - OverheadMiB(espMiB);
        if (available < rootMiB)
        {
            return null;
        }

        var biosBoot = new Partition("bios", BiosBootType, Derive(seed, 1),
            SectorsPerMiB, SectorsPerMiB);
        var esp = new Partition("esp", EspType, Derive(seed, 2),
            2 * SectorsPerMiB, espMiB * SectorsPerMiB);
        var root = new Partition("root", LinuxType, Derive(seed, 3),
            esp.Start + esp.Sectors, available * SectorsPerMiB);
        return new DiskLayout(Derive(seed, 0), totalMiB, biosBoot, esp, root);
    }

    /// <summary>The disk size to use when none is given: the root with room to spare.</summary>
    public static long DefaultTotalMiB(long espMiB, long rootMiB)
    {
        // A quarter more than the root needs, at least 64 MiB, so the app can write files;
        // rounded up to 64 MiB so small changes to the root keep the size.
        var free = Math.Max(64, rootMiB / 4);
        var total = OverheadMiB(espMiB) + rootMiB + free;
        return (total + 63) / 64 * 64;
    }

    /// <summary>
    /// The ESP's size: the kernel, the initramfs and GRUB with room to replace them by
    /// larger ones, at least 32 MiB (FAT16 with small clusters).
    /// </summary>
    public static long EspMiB(long kernelBytes, long initrdBytes)
    {
        var needed = kernelBytes + initrdBytes + (8 * MiB);
        var mib = (needed * 3 / 2 + MiB - 1) / MiB;
        return Math.Max(32, mib);
    }

    /// <summary>The partition table as an sfdisk script.</summary>
    public string SfdiskScript()
    {
        var script = new StringBuilder();
        script.Append("label: gpt\n");
        script.Append(CultureInfo.InvariantCulture, $"label-id: {DiskId}\n");
        script.Append("first-lba: 34\n\n");
        foreach (var partition in new[] { BiosBoot, Esp, Root })
        {
            script.Append(CultureInfo.InvariantCulture,
                $"start={partition.Start}, size={partition.Sectors}, type={partition.Type}, ");
            script.Append(CultureInfo.InvariantCulture,
                $"uuid={partition.Id}, name=\"{partition.Name}\"\n");
        }

        return script.ToString();
    }

    /// <summary>A GUID made from a seed and a number, the same every time (version 4 form).</summary>
    public static Guid Derive(Guid seed, int number)
    {
        Span<byte> input = stackalloc byte[20];
        seed.TryWriteBytes(input);
        BitConverter.TryWriteBytes(input[16..], number);
        var hash = System.Security.Cryptography.SHA256.HashData(input);
        hash[7] = (byte)((hash[7] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16));
    }
}
