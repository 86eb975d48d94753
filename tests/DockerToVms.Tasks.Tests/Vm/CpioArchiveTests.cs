using System.IO.Compression;
using System.Text;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

[TestClass]
public sealed class CpioArchiveTests
{
    [TestMethod]
    public void The_initramfs_is_a_newc_archive_the_same_every_time()
    {
        using var directory = new TemporaryDirectory();

        var first = Write(directory.Combine("first.cpio.gz"));
        var second = Write(directory.Combine("second.cpio.gz"));

        CollectionAssert.AreEqual(first, second);
        var text = Encoding.ASCII.GetString(Unpack(first));
        StringAssert.StartsWith(text, "070701");
        StringAssert.Contains(text, "dev/console\0");
        StringAssert.Contains(text, "init\0");
        StringAssert.Contains(text, "hello");
        StringAssert.Contains(text, "TRAILER!!!\0");
        Assert.AreEqual(0, Unpack(first).Length % 4);
    }

    [TestMethod]
    public void Entries_carry_their_type_and_device_numbers()
    {
        using var directory = new TemporaryDirectory();
        var text = Encoding.ASCII.GetString(Unpack(Write(directory.Combine("a.cpio.gz"))));

        // Header fields: magic, inode, mode, uid, gid, nlink, mtime, size, dev major/minor,
        // rdev major/minor, name size, check; each eight hex digits.
        var console = text[..text.IndexOf("dev/console", StringComparison.Ordinal)];
        var header = console[console.LastIndexOf("070701", StringComparison.Ordinal)..];
        Assert.AreEqual("00002180", header.Substring(14, 8));
        Assert.AreEqual("00000005", header.Substring(6 + (8 * 9), 8));
        Assert.AreEqual("00000001", header.Substring(6 + (8 * 10), 8));
    }

    private static byte[] Write(string path)
    {
        using (var archive = new CpioArchive(path))
        {
            archive.AddDirectory("dev");
            archive.AddCharacterDevice("dev/console", 0x180, 5, 1);
            archive.AddFile("init", Encoding.ASCII.GetBytes("hello"), 0x1ed);
        }

        return File.ReadAllBytes(path);
    }

    private static byte[] Unpack(byte[] compressed)
    {
        using var input = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
