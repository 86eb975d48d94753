using System.Globalization;
using System.Text;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>
/// The initramfs archive: newc headers the kernel accepts (magic, hexadecimal fields, names
/// and data padded to four bytes, a trailer), and a root filesystem's owners, modes and links
/// kept as they are, read back with a small reader of the format.
/// </summary>
[TestClass]
public sealed class NewcWriterTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-newc-");

    public void Dispose() => _folder.Dispose();

    private sealed record Entry(string Name, uint Mode, uint Owner, uint Group, byte[] Data,
        uint DeviceMajor, uint DeviceMinor);

    // Reads a newc archive as the kernel does; fails on a misplaced header.
    private static List<Entry> Read(byte[] archive)
    {
        var entries = new List<Entry>();
        var position = 0;
        while (true)
        {
            var header = Encoding.ASCII.GetString(archive, position, 110);
            Assert.AreEqual("070701", header[..6], $"magic at {position}");
            uint Field(int index) => uint.Parse(header.AsSpan(6 + (index * 8), 8),
                NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var nameSize = (int)Field(11);
            var name = Encoding.UTF8.GetString(archive, position + 110, nameSize - 1);
            position = Align(position + 110 + nameSize);
            var size = (int)Field(6);
            var data = archive.AsSpan(position, size).ToArray();
            position = Align(position + size);
            if (name == "TRAILER!!!")
            {
                Assert.AreEqual(0, position % 4);
                return entries;
            }

            entries.Add(new Entry(name, Field(1), Field(2), Field(3), data, Field(9), Field(10)));
        }
    }

    private static int Align(int position) => (position + 3) & ~3;

    [TestMethod]
    public void An_archive_has_aligned_entries_and_ends_with_a_trailer()
    {
        using var output = new MemoryStream();
        var writer = new NewcWriter(output);
        writer.AddDirectory("etc", 0x1ED);
        writer.AddFile("etc/hostname", 0x1A4, Encoding.ASCII.GetBytes("vm\n"), owner: 0,
            group: 0);
        writer.AddSymbolicLink("bin", "usr/bin");
        writer.AddNode("dev/console", NewcWriter.CharacterDevice | 0x180, 5, 1);
        writer.AddFile("odd", 0x1A4, [1, 2, 3, 4, 5], owner: 1000, group: 1001);
        writer.Finish();

        var entries = Read(output.ToArray());

        Expect.Sequence(entries.Select(e => e.Name), "etc", "etc/hostname", "bin", "dev/console",
            "odd");
        Assert.AreEqual(NewcWriter.Directory | 0x1EDu, entries[0].Mode);
        Assert.AreEqual("vm\n", Encoding.ASCII.GetString(entries[1].Data));
        Assert.AreEqual(NewcWriter.SymbolicLink, entries[2].Mode & 0xF000);
        Assert.AreEqual("usr/bin", Encoding.UTF8.GetString(entries[2].Data));
        Assert.AreEqual((5u, 1u), (entries[3].DeviceMajor, entries[3].DeviceMinor));
        Assert.AreEqual((1000u, 1001u), (entries[4].Owner, entries[4].Group));
        Expect.Sequence(entries[4].Data, (byte)1, (byte)2, (byte)3, (byte)4, (byte)5);
        Assert.AreEqual(output.Length, writer.Length);
    }

    [TestMethod]
    public void The_same_entries_give_the_same_archive_every_time()
    {
        static byte[] Write()
        {
            using var output = new MemoryStream();
            var writer = new NewcWriter(output);
            writer.AddDirectory("modules", 0x1ED);
            writer.AddFile("init", 0x1ED, Encoding.ASCII.GetBytes("hello"));
            writer.Finish();
            return output.ToArray();
        }

        CollectionAssert.AreEqual(Write(), Write());
    }

    [TestMethod]
    public void A_root_filesystem_is_packed_whole_with_its_modes_links_and_a_console()
    {
        _folder.Write("root/usr/bin/app", "#!/bin/true\n");
        File.SetUnixFileMode(_folder.Combine("root/usr/bin/app"), (UnixFileMode)0x1ED);
        _folder.Write("root/etc/passwd", "app:x:1654:1654::/home/app:/bin/false\n");
        File.CreateSymbolicLink(_folder.Combine("root/bin"), "usr/bin");

        var result = InitramfsWriter.Write(_folder.Combine("root"), _folder.Combine("out.img"),
            gzip: false);
        var entries = Read(File.ReadAllBytes(_folder.Combine("out.img")));

        Expect.Sequence(entries.Select(e => e.Name), "bin", "etc", "usr", "etc/passwd",
            "usr/bin", "usr/bin/app", "dev", "dev/console");
        Assert.AreEqual(0x1EDu, entries.Single(e => e.Name == "usr/bin/app").Mode & 0xFFF);
        Assert.AreEqual("usr/bin", Encoding.UTF8.GetString(entries[0].Data));
        Assert.AreEqual(result.UncompressedBytes, new FileInfo(_folder.Combine("out.img")).Length);
        Assert.IsFalse(File.Exists(_folder.Combine("out.img.partial")));
    }

    [TestMethod]
    public void A_gzip_initramfs_unpacks_to_the_same_archive()
    {
        _folder.Write("root/hello", "hello");

        var result = InitramfsWriter.Write(_folder.Combine("root"), _folder.Combine("out.gz"),
            gzip: true);
        using var gzip = new System.IO.Compression.GZipStream(
            File.OpenRead(_folder.Combine("out.gz")),
            System.IO.Compression.CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);

        Assert.AreEqual(result.UncompressedBytes, plain.Length);
        Assert.AreEqual("hello", Encoding.ASCII.GetString(
            Read(plain.ToArray()).Single(e => e.Name == "hello").Data));
    }
}
