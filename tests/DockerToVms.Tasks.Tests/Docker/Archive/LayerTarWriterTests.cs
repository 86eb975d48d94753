using System.Formats.Tar;
using System.Text;
using DockerToVms.Tasks.Docker.Archive;

namespace DockerToVms.Tasks.Tests.Docker.Archive;

/// <summary>
/// The entries of a layer as tar readers see them: numeric owners only, whole-second times
/// clamped to SOURCE_DATE_EPOCH, file capabilities in a POSIX extended header that names no
/// process, devices and links as they were given.
/// </summary>
[TestClass]
public sealed class LayerTarWriterTests
{
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite
        | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private static readonly DateTimeOffset s_epoch = DateTimeOffset.FromUnixTimeSeconds(1700000000);
    private static readonly byte[] s_capabilities = [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0];

    private static (byte[] Bytes, List<TarEntry> Entries) Write(DateTimeOffset? latest,
        Action<LayerTarWriter> write)
    {
        using var output = new MemoryStream();
        using (var writer = new LayerTarWriter(output, latest))
        {
            write(writer);
        }

        var bytes = output.ToArray();
        using var reader = new TarReader(new MemoryStream(bytes));
        var entries = new List<TarEntry>();
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            entries.Add(entry);
        }

        return (bytes, entries);
    }

    private static MemoryStream Content(string text) => new(Encoding.UTF8.GetBytes(text));

    [TestMethod]
    public void Owners_are_numbers_without_user_or_group_names()
    {
        var (_, entries) = Write(null, w =>
        {
            w.AddDirectory("./home/app", UnixFileMode.UserRead, 1654, 1654, s_epoch);
            w.AddFile("./home/app/notes", Mode0644, 1654, 100, s_epoch, Content("n"));
        });

        Assert.AreEqual((1654, 1654), (entries[0].Uid, entries[0].Gid));
        Assert.AreEqual((1654, 100), (entries[1].Uid, entries[1].Gid));
        Assert.IsTrue(entries.Cast<PosixTarEntry>().All(e => e.UserName.Length == 0
            && e.GroupName.Length == 0));
        Assert.AreEqual("./home/app/", entries[0].Name, "a directory's name ends in '/'");
    }

    [TestMethod]
    public void Times_later_than_SOURCE_DATE_EPOCH_become_it_and_fractions_are_dropped()
    {
        var older = new DateTimeOffset(2020, 5, 6, 7, 8, 9, 500, TimeSpan.Zero);
        var (_, entries) = Write(s_epoch, w =>
        {
            w.AddFile("./new", Mode0644, 0, 0, DateTimeOffset.UtcNow, Content("a"));
            w.AddFile("./old", Mode0644, 0, 0, older, Content("b"));
        });

        Assert.AreEqual(s_epoch, entries[0].ModificationTime);
        Assert.AreEqual(older.AddMilliseconds(-500), entries[1].ModificationTime);
    }

    [TestMethod]
    public void Without_SOURCE_DATE_EPOCH_times_are_kept_in_whole_seconds()
    {
        var time = new DateTimeOffset(2030, 1, 1, 0, 0, 1, 999, TimeSpan.Zero);

        var (_, entries) = Write(null, w => w.AddFile("./f", Mode0644, 0, 0, time, Content("")));

        Assert.AreEqual(time.AddMilliseconds(-999), entries[0].ModificationTime);
    }

    [TestMethod]
    public void File_capabilities_are_a_SCHILY_xattr_in_an_extended_header_without_a_process_id()
    {
        var (bytes, entries) = Write(s_epoch, w =>
            w.AddFile("./usr/bin/ping", Mode0644, 0, 0, s_epoch, Content("ping"),
                s_capabilities));

        var ping = (PaxTarEntry)entries.Single();
        Assert.AreEqual("./usr/bin/ping", ping.Name);
        var key = "SCHILY.xattr.security.capability";
        Assert.IsTrue(ping.ExtendedAttributes.ContainsKey(key),
            string.Join(", ", ping.ExtendedAttributes.Keys));
        CollectionAssert.AreEqual(s_capabilities,
            Encoding.UTF8.GetBytes(ping.ExtendedAttributes[key]));
        using var content = new StreamReader(ping.DataStream!);
        Assert.AreEqual("ping", content.ReadToEnd());

        var header = Encoding.ASCII.GetString(bytes, 0, 100).TrimEnd('\0');
        Assert.AreEqual("./usr/bin/PaxHeaders/ping", header);
        Assert.IsFalse(Encoding.Latin1.GetString(bytes).Contains(
            "PaxHeaders." + Environment.ProcessId, StringComparison.Ordinal));
    }

    [TestMethod]
    public void A_file_with_capabilities_and_a_long_name_keeps_both()
    {
        var name = "./opt/" + new string('d', 120) + "/" + new string('f', 110);

        var (_, entries) = Write(null, w =>
            w.AddFile(name, Mode0644, 0, 0, s_epoch, Content("x"), s_capabilities));

        var entry = (PaxTarEntry)entries.Single();
        Assert.AreEqual(name, entry.Name);
        Assert.IsTrue(entry.ExtendedAttributes.ContainsKey(
            "SCHILY.xattr.security.capability"));
    }

    [TestMethod]
    public void The_extended_header_is_a_valid_block_with_its_checksum()
    {
        var (bytes, _) = Write(null, w =>
            w.AddFile("./p", Mode0644, 0, 0, s_epoch, Content("p"), s_capabilities));

        var stored = Convert.ToInt64(Encoding.ASCII.GetString(bytes, 148, 6), 8);
        var block = bytes[..512];
        block.AsSpan(148, 8).Fill((byte)' ');
        Assert.AreEqual(block.Sum(b => (long)b), stored);
        Assert.AreEqual((byte)'x', bytes[156]);
    }

    [TestMethod]
    public void Devices_pipes_and_links_keep_what_they_are()
    {
        var (_, entries) = Write(null, w =>
        {
            w.AddSpecial("./dev/null", TarEntryType.CharacterDevice, Mode0644, 0, 0, s_epoch,
                1, 3);
            w.AddSpecial("./dev/sda", TarEntryType.BlockDevice, Mode0644, 0, 6, s_epoch, 8, 0);
            w.AddSpecial("./run/fifo", TarEntryType.Fifo, Mode0644, 0, 0, s_epoch);
            w.AddFile("./usr/bin/perl", Mode0644, 0, 0, s_epoch, Content("perl"));
            w.AddHardLink("./usr/bin/perl5.40", "./usr/bin/perl", Mode0644, 0, 0, s_epoch);
            w.AddSymbolicLink("./usr/bin/sh", "dash", 0, 0, s_epoch);
        });

        var byName = entries.ToDictionary(e => e.Name);
        var null_ = (PosixTarEntry)byName["./dev/null"];
        Assert.AreEqual((TarEntryType.CharacterDevice, 1, 3),
            (null_.EntryType, null_.DeviceMajor, null_.DeviceMinor));
        var disk = (PosixTarEntry)byName["./dev/sda"];
        Assert.AreEqual((TarEntryType.BlockDevice, 8, 0, 6),
            (disk.EntryType, disk.DeviceMajor, disk.DeviceMinor, disk.Gid));
        Assert.AreEqual(TarEntryType.Fifo, byName["./run/fifo"].EntryType);
        Assert.AreEqual((TarEntryType.HardLink, "./usr/bin/perl"),
            (byName["./usr/bin/perl5.40"].EntryType, byName["./usr/bin/perl5.40"].LinkName));
        Assert.AreEqual((TarEntryType.SymbolicLink, "dash"),
            (byName["./usr/bin/sh"].EntryType, byName["./usr/bin/sh"].LinkName));
    }

    [TestMethod]
    public void Long_names_need_no_extended_header()
    {
        var name = "./usr/share/" + new string('a', 150) + "/" + new string('b', 120);

        var (bytes, entries) = Write(null, w =>
            w.AddFile(name, Mode0644, 0, 0, s_epoch, Content("x")));

        Assert.AreEqual(name, entries.Single().Name);
        Assert.IsFalse(Encoding.Latin1.GetString(bytes).Contains("PaxHeaders",
            StringComparison.Ordinal));
    }

    [TestMethod]
    public void Equal_entries_give_equal_bytes()
    {
        void Entries(LayerTarWriter w)
        {
            w.AddDirectory("./a", Mode0644, 0, 0, DateTimeOffset.UtcNow);
            w.AddFile("./a/b", Mode0644, 0, 0, DateTimeOffset.UtcNow, Content("b"),
                s_capabilities);
        }

        CollectionAssert.AreEqual(Write(s_epoch, Entries).Bytes, Write(s_epoch, Entries).Bytes);
    }

    [TestMethod]
    [DataRow("1700000000", 1700000000L)]
    [DataRow("0", 0L)]
    public void SOURCE_DATE_EPOCH_is_read_as_whole_seconds(string value, long seconds)
    {
        Assert.AreEqual(DateTimeOffset.FromUnixTimeSeconds(seconds),
            LayerTarWriter.ParseEpoch(value));
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("-5")]
    [DataRow("17e8")]
    [DataRow("yesterday")]
    public void A_value_that_is_not_whole_seconds_is_no_time(string value)
    {
        Assert.IsNull(LayerTarWriter.ParseEpoch(value));
    }
}
