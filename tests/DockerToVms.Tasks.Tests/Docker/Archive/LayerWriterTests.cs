using System.Security.Cryptography;
using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Docker.Archive;

/// <summary>
/// The layer of a root filesystem: the tar command that packs it, and the digest taken while
/// its output streams to the destination. A runner that runs nothing stands in for tar.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class LayerWriterTests
{
    private static readonly byte[] s_tarOutput = [.. Enumerable.Range(0, 300_000)
        .Select(i => (byte)(i * 7))];

    [TestMethod]
    public async Task The_diff_id_is_the_sha256_of_the_bytes_written()
    {
        var runner = new FakeToolRunner { PipedOutput = _ => s_tarOutput };
        using var destination = new MemoryStream();

        var layer = await LayerWriter.WriteAsync(runner, "/rootfs", destination,
            CancellationToken.None);

        CollectionAssert.AreEqual(s_tarOutput, destination.ToArray());
        Assert.AreEqual("sha256:" + Convert.ToHexString(SHA256.HashData(s_tarOutput))
            .ToLowerInvariant(), layer.DiffId);
        Assert.AreEqual(s_tarOutput.Length, layer.Size);
    }

    [TestMethod]
    public async Task A_tar_that_fails_is_DTV3009_with_its_last_lines()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(2, ["tar: ./x: Cannot open"]))
        {
            PipedOutput = _ => [1, 2, 3],
        };
        using var destination = new MemoryStream();

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            LayerWriter.WriteAsync(runner, "/rootfs", destination, CancellationToken.None));

        Assert.AreEqual("DTV3009", error.Code);
        StringAssert.Contains(error.Message, "Cannot open");
    }

    [TestMethod]
    public async Task Without_tar_nothing_runs_and_the_error_is_DTV3011()
    {
        var runner = new FakeToolRunner(null, "tar");
        using var destination = new MemoryStream();

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            LayerWriter.WriteAsync(runner, "/rootfs", destination, CancellationToken.None));

        Assert.AreEqual("DTV3011", error.Code);
        Assert.IsEmpty(runner.Commands);
    }

    [TestMethod]
    public void The_tar_command_sorts_keeps_numeric_owners_and_xattrs_and_leaves_out_mounts()
    {
        Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", null);

        var command = RootfsArchive.Create("/cache/rootfs");

        Assert.AreEqual("tar", command.Program);
        var arguments = command.Arguments;
        foreach (var expected in new[]
        {
            "--directory=/cache/rootfs", "--numeric-owner", "--xattrs", "--xattrs-include=*",
            "--sort=name", "--one-file-system", "--format=posix",
            "--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./run/*",
        })
        {
            CollectionAssert.Contains(arguments.ToList(), expected);
        }

        // Times that change on every run, and the process id, stay out of the headers.
        var pax = arguments.Single(a => a.StartsWith("--pax-option=", StringComparison.Ordinal));
        StringAssert.Contains(pax, "delete=atime");
        StringAssert.Contains(pax, "delete=ctime");
        Assert.IsFalse(pax.Contains("%p", StringComparison.Ordinal), pax);
        Assert.AreEqual(".", arguments[^1]);
        Assert.IsFalse(arguments.Any(a => a.StartsWith("--mtime", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void SOURCE_DATE_EPOCH_clamps_the_times_of_the_files()
    {
        Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", "1700000000");
        try
        {
            var arguments = RootfsArchive.Create("/cache/rootfs").Arguments;

            CollectionAssert.Contains(arguments.ToList(), "--mtime=@1700000000");
            CollectionAssert.Contains(arguments.ToList(), "--clamp-mtime");
        }
        finally
        {
            Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", null);
        }
    }
}
