using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Qemu;
using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Tests.Qemu;

[TestClass]
public sealed class QemuBinaryFormatsTests
{
    [TestMethod]
    public void Every_Debian_architecture_can_be_emulated()
    {
        foreach (var architecture in DebianArchitecture.Known)
        {
            var entry = QemuBinaryFormats.EntryFor(architecture, "/usr/bin/qemu");

            Assert.AreEqual("qemu-" + DebianArchitecture.ToQemu(architecture), entry.Name);
            Assert.AreEqual(20, entry.Magic.Count, architecture);
            Assert.AreEqual(20, entry.Mask!.Count, architecture);
            CollectionAssert.AreEqual(new byte[] { 0x7f, 0x45, 0x4c, 0x46 },
                entry.Magic.Take(4).ToArray(), architecture);
            Assert.AreEqual(QemuBinaryFormats.Flags, entry.Flags, architecture);
        }
    }

    [TestMethod]
    [DataRow("arm64", 2, 1, 0xb7)]
    [DataRow("armhf", 1, 1, 0x28)]
    [DataRow("armel", 1, 1, 0x28)]
    [DataRow("riscv64", 2, 1, 0xf3)]
    [DataRow("ppc64el", 2, 1, 0x15)]
    [DataRow("s390x", 2, 2, 0x16)]
    [DataRow("mips64el", 2, 1, 0x08)]
    [DataRow("i386", 1, 1, 0x03)]
    [DataRow("amd64", 2, 1, 0x3e)]
    public void Programs_and_libraries_of_an_architecture_are_recognised(string architecture,
        int elfClass, int byteOrder, int machine)
    {
        var entry = QemuBinaryFormats.EntryFor(architecture, "/usr/bin/qemu");

        foreach (var type in new[] { 2, 3 })
        {
            var header = Header(elfClass, byteOrder, type, machine);
            Assert.IsTrue(Matches(entry, header), $"{architecture}, ELF type {type}");
        }

        var otherMachine = Header(elfClass, byteOrder, 2, machine ^ 0x40);
        Assert.IsFalse(Matches(entry, otherMachine), architecture);
        var otherClass = Header(3 - elfClass, byteOrder, 2, machine);
        Assert.IsFalse(Matches(entry, otherClass), architecture);
    }

    [TestMethod]
    [DataRow("amd64", "amd64")]
    [DataRow("amd64", "i386")]
    [DataRow("arm64", "arm64")]
    [DataRow("armhf", "armel")]
    public void A_machine_runs_its_own_programs_without_emulation(string host, string target)
    {
        Assert.IsTrue(QemuBinaryFormats.RunsNatively(host, target));
    }

    [TestMethod]
    [DataRow("amd64", "arm64")]
    [DataRow("arm64", "amd64")]
    [DataRow("arm64", "armhf")]
    [DataRow("i386", "amd64")]
    public void A_machine_needs_emulation_for_other_programs(string host, string target)
    {
        Assert.IsFalse(QemuBinaryFormats.RunsNatively(host, target));
    }

    [TestMethod]
    public void An_architecture_without_a_known_format_is_a_DTV4007()
    {
        var e = Assert.ThrowsExactly<DtvException>(
            () => QemuBinaryFormats.EntryFor("sparc64", "/usr/bin/qemu"));

        Assert.AreEqual("DTV4007", e.Code);
    }

    // The first 20 bytes of an ELF header with the given class, byte order, type and machine.
    private static byte[] Header(int elfClass, int byteOrder, int type, int machine)
    {
        var header = new byte[20];
        header[0] = 0x7f;
        header[1] = (byte)'E';
        header[2] = (byte)'L';
        header[3] = (byte)'F';
        header[4] = (byte)elfClass;
        header[5] = (byte)byteOrder;
        header[6] = 1;
        var bigEndian = byteOrder == 2;
        header[bigEndian ? 17 : 16] = (byte)type;
        header[bigEndian ? 19 : 18] = (byte)machine;
        return header;
    }

    // binfmt_misc's test: every bit the mask keeps must equal the magic's.
    private static bool Matches(BinfmtEntry entry, byte[] header) =>
        Enumerable.Range(0, entry.Magic.Count)
            .All(i => ((header[entry.Offset + i] ^ entry.Magic[i]) & entry.Mask![i]) == 0);
}
