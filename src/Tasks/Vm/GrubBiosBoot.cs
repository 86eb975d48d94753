using System.Buffers.Binary;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Installs GRUB for BIOS into a disk image file the way grub-bios-setup does for a GPT
/// disk with a BIOS boot partition, without a block device: boot.img goes into the MBR's
/// code area and points at the partition; core.img goes into the partition, its first
/// sector told where the rest of it lies.
/// </summary>
internal static class GrubBiosBoot
{
    // Offsets in boot.img (GRUB's i386-pc boot.h).
    private const int KernelSectorOffset = 0x5c;
    private const int BootDriveOffset = 0x64;
    private const int DriveCheckOffset = 0x66;
    private const int CodeEnd = 0x1b8;

    // core.img's first sector ends with a block list entry: start (8), length (2), segment (2).
    private const int BlockListOffset = DiskLayout.SectorSize - 12;

    // The segment core.img's second sector is loaded at: after its first one, at 0x8000.
    private const ushort SecondSectorSegment = 0x820;

    /// <summary>Writes the patched boot.img and core.img into the disk image.</summary>
    public static void Install(string diskImage, byte[] bootImage, byte[] coreImage,
        Partition biosBoot)
    {
        if (coreImage.Length > biosBoot.Bytes)
        {
            throw new InvalidOperationException($"GRUB's core image has {coreImage.Length}"
                + $" bytes, more than the {biosBoot.Bytes} bytes of the BIOS boot partition.");
        }

        var boot = PatchBootSector(bootImage, biosBoot.Start);
        var core = PatchCoreImage(coreImage, biosBoot.Start);

        using var disk = new FileStream(diskImage, FileMode.Open, FileAccess.Write);
        disk.Position = 0;
        disk.Write(boot, 0, CodeEnd);
        disk.Position = biosBoot.Offset;
        disk.Write(core);
    }

    /// <summary>boot.img told where core.img starts, for any BIOS drive number.</summary>
    public static byte[] PatchBootSector(byte[] bootImage, long coreSector)
    {
        var boot = (byte[])bootImage.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(boot.AsSpan(KernelSectorOffset),
            (ulong)coreSector);

        // 0xff: use the drive number the BIOS passes; the check that would replace a number
        // some BIOSes get wrong for hard disks is skipped with two NOPs, as for any disk.
        boot[BootDriveOffset] = 0xff;
        boot[DriveCheckOffset] = 0x90;
        boot[DriveCheckOffset + 1] = 0x90;
        return boot;
    }

    /// <summary>core.img whose first sector loads its remaining sectors, which follow it.</summary>
    public static byte[] PatchCoreImage(byte[] coreImage, long coreSector)
    {
        var sectors = (coreImage.Length + DiskLayout.SectorSize - 1) / DiskLayout.SectorSize;
        var core = new byte[sectors * DiskLayout.SectorSize];
        coreImage.CopyTo(core, 0);
        var entry = core.AsSpan(BlockListOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(entry, (ulong)coreSector + 1);
        BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], (ushort)(sectors - 1));
        BinaryPrimitives.WriteUInt16LittleEndian(entry[10..], SecondSectorSegment);
        return core;
    }
}
