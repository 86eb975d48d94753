using System.Buffers.Binary;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

[TestClass]
public sealed class GrubBiosBootTests
{
    [TestMethod]
    public void The_boot_sector_points_at_core_image_for_any_drive()
    {
        var boot = GrubBiosBoot.PatchBootSector(new byte[512], 2048);

        Assert.AreEqual(2048UL, BinaryPrimitives.ReadUInt64LittleEndian(boot.AsSpan(0x5c)));
        Assert.AreEqual(0xff, boot[0x64]);
        Assert.AreEqual(0x90, boot[0x66]);
        Assert.AreEqual(0x90, boot[0x67]);
    }

    [TestMethod]
    public void Core_image_lists_its_remaining_sectors_right_after_the_first()
    {
        var core = GrubBiosBoot.PatchCoreImage(new byte[(512 * 60) + 100], 2048);

        Assert.AreEqual(512 * 61, core.Length);
        var entry = core.AsSpan(512 - 12);
        Assert.AreEqual(2049UL, BinaryPrimitives.ReadUInt64LittleEndian(entry));
        Assert.AreEqual(60, BinaryPrimitives.ReadUInt16LittleEndian(entry[8..]));
        Assert.AreEqual(0x820, BinaryPrimitives.ReadUInt16LittleEndian(entry[10..]));
    }

    [TestMethod]
    public void The_partition_table_in_the_MBR_is_kept()
    {
        using var directory = new Infrastructure.TemporaryDirectory();
        var disk = directory.Combine("disk.img");
        var image = new byte[4 * 1024 * 1024];
        image[0x1be] = 0xee;
        image[0x1fe] = 0x55;
        File.WriteAllBytes(disk, image);
        var bios = new Partition("bios", DiskLayout.BiosBootType, Guid.Empty, 2048, 2048);
        var boot = Enumerable.Repeat((byte)0xcc, 512).ToArray();

        GrubBiosBoot.Install(disk, boot, new byte[1024], bios);

        var written = File.ReadAllBytes(disk);
        Assert.AreEqual(0xcc, written[0x1b7]);
        Assert.AreEqual(0, written[0x1b8]);
        Assert.AreEqual(0xee, written[0x1be]);
        Assert.AreEqual(0x55, written[0x1fe]);
        Assert.AreEqual(2049UL, BinaryPrimitives.ReadUInt64LittleEndian(
            written.AsSpan((2048 * 512) + 500)));
    }
}
