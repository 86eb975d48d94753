using System.Buffers.Binary;
using System.Text;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

[TestClass]
public sealed class KernelImageTests
{
    [TestMethod]
    public void An_x86_kernel_image_says_its_release()
    {
        using var directory = new TemporaryDirectory();
        var kernel = BzImage(directory, "6.12.117+deb13-amd64");

        Assert.AreEqual("6.12.117+deb13-amd64", KernelImage.Release(kernel));
        Assert.IsNull(KernelImage.Release(directory.Write("other", "not a kernel")));
    }

    [TestMethod]
    public async Task Modules_of_another_kernel_release_are_refused()
    {
        using var directory = new TemporaryDirectory();
        directory.Write("root/usr/lib/modules/6.1.0-old-amd64/kernel/fs/ext4/ext4.ko.xz", "m");
        var kernel = BzImage(directory, "6.12.117+deb13-amd64");
        var stage1 = new Stage1Initramfs(new FakeToolRunner(), "disk");

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() => stage1.WriteAsync(
            directory.Combine("root"), kernel, directory.Path, ["ext4"],
            new Dictionary<string, string>(), directory.Combine("initrd.img"),
            CancellationToken.None));

        Assert.AreEqual("DTV5062", error.Code);
        Assert.AreEqual("6.12.117+deb13-amd64", error.Arguments[1]);
    }

    // The start of a bzImage: the setup header's magic and the offset of the version string.
    private static string BzImage(TemporaryDirectory directory, string release)
    {
        var image = new byte[0x5000];
        Encoding.ASCII.GetBytes("HdrS").CopyTo(image, 0x202);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x20e), 0x4300 - 0x200);
        Encoding.ASCII.GetBytes(release + " (builder@host) #1 SMP").CopyTo(image, 0x4300);
        var path = directory.Combine("vmlinuz");
        File.WriteAllBytes(path, image);
        return path;
    }
}
