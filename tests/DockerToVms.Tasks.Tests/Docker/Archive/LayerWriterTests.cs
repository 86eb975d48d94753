using System.Formats.Tar;
using System.Security.Cryptography;
using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Export;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Docker.Archive;

/// <summary>
/// The layer of a root filesystem, written by the library itself and read back with a tar
/// reader: names in order, links, the kernel's mount points left empty, times clamped, and
/// the same tree always giving the same bytes.
/// </summary>
[TestClass]
public sealed class LayerWriterTests : IDisposable
{
    private static readonly DateTimeOffset s_epoch = DateTimeOffset.FromUnixTimeSeconds(1700000000);
    private readonly TemporaryDirectory _folder = new("dtv-layer-");
    private string _root = string.Empty;

    [TestInitialize]
    public void CreateTree()
    {
        _root = _folder.CreateFolder("rootfs");
        _folder.Write("rootfs/usr/bin/perl", "perl");
        NativeMethods.HardLink(_folder.Combine("rootfs/usr/bin/perl"),
            _folder.Combine("rootfs/usr/bin/perl5.40"));
        _folder.Write("rootfs/usr/bin-old/x", "x");
        File.CreateSymbolicLink(_folder.Combine("rootfs/usr/bin/sh"), "dash");
        _folder.Write("rootfs/etc/os-release", "ID=debian\n");
        _folder.Write("rootfs/proc/1/status", "not a real proc");
        _folder.Write("rootfs/dev/console", "not a device");
        _folder.CreateFolder("rootfs/run/lock");
        _folder.CreateFolder("rootfs/sys");
    }

    public void Dispose() => _folder.Dispose();

    private async Task<(List<TarEntry> Entries, byte[] Bytes, LayerDigest Digest)> WriteAsync(
        DateTimeOffset? latest = null)
    {
        using var output = new MemoryStream();
        var digest = await LayerWriter.WriteAsync(_root, output, CancellationToken.None,
            latest);
        var bytes = output.ToArray();
        using var reader = new TarReader(new MemoryStream(bytes));
        var entries = new List<TarEntry>();
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            entries.Add(entry);
        }

        return (entries, bytes, digest);
    }

    [TestMethod]
    public async Task The_diff_id_is_the_sha256_of_the_bytes_written()
    {
        var (_, bytes, digest) = await WriteAsync();

        Assert.AreEqual("sha256:" + Convert.ToHexString(SHA256.HashData(bytes))
            .ToLowerInvariant(), digest.DiffId);
        Assert.AreEqual(bytes.Length, digest.Size);
    }

    [TestMethod]
    public async Task Entries_are_in_name_order_with_parents_first()
    {
        var names = (await WriteAsync()).Entries.Select(e => e.Name).ToList();

        CollectionAssert.AreEqual(names.Order(StringComparer.Ordinal).ToList(), names);
        Assert.AreEqual("./", names[0]);
        CollectionAssert.IsSubsetOf(new[] { "./usr/", "./usr/bin/", "./usr/bin-old/" }, names);
    }

    [TestMethod]
    public async Task A_second_name_of_a_file_is_a_hard_link_to_the_first_in_name_order()
    {
        var entries = (await WriteAsync()).Entries.ToDictionary(e => e.Name);

        Assert.AreEqual(TarEntryType.RegularFile, entries["./usr/bin/perl"].EntryType);
        Assert.AreEqual(TarEntryType.HardLink, entries["./usr/bin/perl5.40"].EntryType);
        Assert.AreEqual("./usr/bin/perl", entries["./usr/bin/perl5.40"].LinkName);
        Assert.AreEqual(TarEntryType.SymbolicLink, entries["./usr/bin/sh"].EntryType);
        Assert.AreEqual("dash", entries["./usr/bin/sh"].LinkName);
    }

    [TestMethod]
    public async Task The_kernels_mount_points_stay_as_empty_directories()
    {
        var names = (await WriteAsync()).Entries.Select(e => e.Name).ToList();

        CollectionAssert.IsSubsetOf(new[] { "./dev/", "./proc/", "./run/", "./sys/" }, names);
        Assert.IsFalse(names.Any(n => n.StartsWith("./proc/1", StringComparison.Ordinal)
            || n.StartsWith("./dev/c", StringComparison.Ordinal)
            || n.StartsWith("./run/l", StringComparison.Ordinal)), string.Join(", ", names));
    }

    [TestMethod]
    public async Task SOURCE_DATE_EPOCH_is_the_latest_time_and_older_times_stay()
    {
        var old = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(_folder.Combine("rootfs/etc/os-release"), old);

        var entries = (await WriteAsync(s_epoch)).Entries.ToDictionary(e => e.Name);

        Assert.AreEqual(new DateTimeOffset(old), entries["./etc/os-release"].ModificationTime);
        Assert.AreEqual(s_epoch, entries["./usr/bin/perl"].ModificationTime);
        Assert.IsTrue(entries.Values.All(e => e.ModificationTime <= s_epoch));
    }

    [TestMethod]
    public async Task The_same_tree_gives_the_same_bytes_even_copied_elsewhere()
    {
        var first = await WriteAsync(s_epoch);
        foreach (var file in Directory.GetFiles(_root, "*", SearchOption.AllDirectories))
        {
            File.SetLastAccessTimeUtc(file, DateTime.UtcNow);
        }

        var second = await WriteAsync(s_epoch);

        Assert.AreEqual(first.Digest.DiffId, second.Digest.DiffId);
    }

    [TestMethod]
    public async Task No_user_or_group_names_and_no_extended_headers_for_plain_files()
    {
        var (entries, bytes, _) = await WriteAsync();

        Assert.IsTrue(entries.All(e => e is GnuTarEntry g && g.UserName.Length == 0
            && g.GroupName.Length == 0), "numeric owners only");
        var text = System.Text.Encoding.Latin1.GetString(bytes);
        Assert.IsFalse(text.Contains("PaxHeaders", StringComparison.Ordinal));
        Assert.IsFalse(text.Contains(Environment.MachineName, StringComparison.Ordinal)
            && Environment.MachineName.Length > 3, "the host name");
    }

    [TestMethod]
    public async Task A_missing_root_filesystem_is_reported_by_its_code()
    {
        using var output = new MemoryStream();

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            LayerWriter.WriteAsync(_folder.Combine("nothing"), output, CancellationToken.None));

        Assert.AreEqual(new DtvException("RootfsMissing", "x").Code, error.Code);
        StringAssert.Contains(error.Message, "nothing");
    }
}
