using DockerToVms.Tasks.Qemu;

namespace DockerToVms.Tasks.Tests.Qemu;

[TestClass]
public sealed class BinfmtEntryTests
{
    // What the kernel shows for Debian's own aarch64 registration.
    private const string DebianStatus = """
        enabled
        interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
        flags: POF
        offset 0
        magic 7f454c460201010000000000000000000200b700
        mask ffffffffffffff00fffffffffffffffffeffffff

        """;

    [TestMethod]
    public void The_kernels_description_of_an_entry_can_be_read()
    {
        var entry = BinfmtEntry.Parse("qemu-aarch64", DebianStatus);

        Assert.AreEqual("qemu-aarch64", entry.Name);
        Assert.IsTrue(entry.Enabled);
        Assert.AreEqual("/usr/libexec/qemu-binfmt/aarch64-binfmt-P", entry.Interpreter);
        Assert.AreEqual(
            BinfmtOptions.PreserveArgv0 | BinfmtOptions.OpenBinary | BinfmtOptions.FixBinary,
            entry.Flags);
        Assert.AreEqual(0, entry.Offset);
        Assert.AreEqual(20, entry.Magic.Count);
        Assert.AreEqual(0xb7, entry.Magic[18]);
        Assert.AreEqual(0xfe, entry.Mask![16]);
        Assert.IsNull(entry.Extension);
    }

    [TestMethod]
    public void A_disabled_entry_without_flags_or_mask_can_be_read()
    {
        // The kernel writes "flags: " with a trailing space when no flag is set.
        var entry = BinfmtEntry.Parse("plain",
            "disabled\ninterpreter /usr/bin/run-it\nflags: \noffset 2\nmagic 414243\n");

        Assert.IsFalse(entry.Enabled);
        Assert.AreEqual(BinfmtOptions.None, entry.Flags);
        Assert.AreEqual(2, entry.Offset);
        Assert.IsNull(entry.Mask);
    }

    [TestMethod]
    public void An_entry_that_matches_by_extension_can_be_read()
    {
        var entry = BinfmtEntry.Parse("jar",
            "enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n");

        Assert.AreEqual("jar", entry.Extension);
        var wanted = QemuBinaryFormats.EntryFor("arm64", "/usr/bin/qemu-aarch64-static");
        Assert.IsFalse(entry.RecognisesSameFilesAs(wanted));
        Assert.AreEqual(":jar:E::jar::/usr/bin/jexec:", entry.ToRegisterString());
    }

    [TestMethod]
    public void A_description_without_interpreter_is_rejected()
    {
        Assert.ThrowsExactly<FormatException>(() => BinfmtEntry.Parse("broken", "enabled\n"));
    }

    [TestMethod]
    public void The_registration_line_escapes_every_magic_and_mask_byte()
    {
        var entry = QemuBinaryFormats.EntryFor("arm64", "/usr/bin/qemu-aarch64-static");

        Assert.AreEqual(
            @":qemu-aarch64:M:0:"
            + @"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
            + @"\x02\x00\xb7\x00:"
            + @"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff"
            + @"\xfe\xff\xff\xff:"
            + "/usr/bin/qemu-aarch64-static:CF",
            entry.ToRegisterString());
    }

    [TestMethod]
    public void An_entry_without_mask_leaves_the_mask_field_empty()
    {
        var entry = new BinfmtEntry("abc", "/usr/bin/abc", 3, [0x41, 0x3a], null,
            BinfmtOptions.FixBinary);

        Assert.AreEqual(@":abc:M:3:\x41\x3a::/usr/bin/abc:F", entry.ToRegisterString());
    }

    [TestMethod]
    public void Credentials_imply_open_binary_as_in_the_kernel()
    {
        var wanted = QemuBinaryFormats.EntryFor("arm64", "/usr/bin/qemu-aarch64-static");
        var shown = BinfmtEntry.Parse("qemu-aarch64", """
            enabled
            interpreter /usr/bin/qemu-aarch64-static
            flags: OCF
            offset 0
            magic 7f454c460201010000000000000000000200b700
            mask ffffffffffffff00fffffffffffffffffeffffff
            """);

        Assert.AreEqual(0, shown.DifferencesFrom(wanted).Count);
    }

    [TestMethod]
    public void Magic_bits_outside_the_mask_do_not_count()
    {
        var wanted = QemuBinaryFormats.EntryFor("arm64", "/usr/bin/qemu-aarch64-static");

        // Byte 7 (the OS ABI) is masked out; 03 there is the same entry for the kernel.
        var shown = BinfmtEntry.Parse("qemu-aarch64", """
            enabled
            interpreter /usr/bin/qemu-aarch64-static
            flags: OCF
            offset 0
            magic 7f454c460201010300000000000000000200b700
            mask ffffffffffffff00fffffffffffffffffeffffff
            """);

        Assert.IsTrue(shown.RecognisesSameFilesAs(wanted));
    }

    [TestMethod]
    public void Every_difference_is_named()
    {
        var wanted = QemuBinaryFormats.EntryFor("arm64", "/usr/bin/qemu-aarch64-static");
        var shown = BinfmtEntry.Parse("qemu-aarch64", """
            disabled
            interpreter /opt/qemu-aarch64
            flags: P
            offset 0
            magic 7f454c460201010000000000000000000200f300
            mask ffffffffffffff00fffffffffffffffffeffffff
            """);

        Assert.AreEqual(4, shown.DifferencesFrom(wanted).Count);
    }
}
