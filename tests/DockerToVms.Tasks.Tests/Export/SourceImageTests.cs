using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Export;
using DockerToVms.Tasks.Recipe;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Export;

/// <summary>
/// BaseImageFrom names an image in the daemon or an archive file that docker save wrote; an
/// archive is read for its image id without Docker, and the id is part of the recipe.
/// </summary>
[TestClass]
public sealed class SourceImageTests : IDisposable
{
    private const string Config = """{"architecture":"amd64","os":"linux","rootfs":{}}""";
    private readonly TemporaryDirectory _folder = new("dtv-source-");

    public void Dispose() => _folder.Dispose();

    private string SaveArchive(string name, string manifest, bool gzip = false)
    {
        var path = _folder.Combine(name);
        using var file = File.Create(path);
        using Stream output = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        using var writer = new TarWriter(output);
        Add(writer, "0123abcd.json", Config);
        Add(writer, "manifest.json", manifest);
        return path;
    }

    private static void Add(TarWriter writer, string name, string content) =>
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(HostTools.Utf8.GetBytes(content)),
        });

    private static string ExpectedId() => "sha256:" + Convert.ToHexString(
        SHA256.HashData(HostTools.Utf8.GetBytes(Config))).ToLowerInvariant();

    private const string OneImage =
        """[{"Config":"0123abcd.json","RepoTags":["vendor/app:1"],"Layers":[]}]""";

    [TestMethod]
    public void A_name_is_an_image_reference_and_a_path_is_an_archive()
    {
        Assert.IsFalse(SourceImage.Parse("vendor/app:1.2", _folder.Path).IsArchive);
        Assert.IsFalse(SourceImage.Parse("sha256:0123", _folder.Path).IsArchive);
        Assert.AreEqual(_folder.Combine("images/app.tar"),
            SourceImage.Parse("images/app.tar", _folder.Path).ArchivePath);
        Assert.AreEqual(_folder.Combine("app"), SourceImage.Parse("./app", _folder.Path).ArchivePath);
        Assert.IsTrue(SourceImage.Parse("/srv/images/app.tgz", _folder.Path).IsArchive);
    }

    [TestMethod]
    public void An_existing_file_is_an_archive_whatever_its_name()
    {
        _folder.Write("vendor-image", "x");

        Assert.IsTrue(SourceImage.Parse("vendor-image", _folder.Path).IsArchive);
    }

    [TestMethod]
    public void I_can_read_the_image_id_of_a_saved_archive()
    {
        var image = ImageArchiveFile.Read(SaveArchive("app.tar", OneImage));

        Assert.AreEqual(ExpectedId(), image.Id);
        Assert.AreEqual("amd64", image.Architecture);
    }

    [TestMethod]
    public void A_compressed_archive_is_read_too()
    {
        var image = ImageArchiveFile.Read(SaveArchive("app.tar.gz", OneImage, gzip: true));

        Assert.AreEqual(ExpectedId(), image.Id);
    }

    [TestMethod]
    public void A_missing_archive_is_a_clear_error()
    {
        var error = Assert.ThrowsExactly<DtvException>(
            () => ImageArchiveFile.Read(_folder.Combine("none.tar")));

        Assert.AreEqual("DTV6007", error.Code);
    }

    [TestMethod]
    public void A_file_that_is_not_a_tar_is_refused()
    {
        var path = _folder.Write("notes.tar", string.Concat(Enumerable.Repeat(
            "this is not an archive, only text that goes on for a while\n", 40)));

        var error = Assert.ThrowsExactly<DtvException>(() => ImageArchiveFile.Read(path));

        Assert.AreEqual("DTV6008", error.Code);
    }

    [TestMethod]
    public void A_tar_without_a_manifest_is_refused()
    {
        var path = _folder.Combine("plain.tar");
        using (var writer = new TarWriter(File.Create(path)))
        {
            Add(writer, "hello.txt", "hello");
        }

        var error = Assert.ThrowsExactly<DtvException>(() => ImageArchiveFile.Read(path));

        Assert.AreEqual("DTV6008", error.Code);
    }

    [TestMethod]
    public void An_archive_of_two_images_is_refused()
    {
        var path = SaveArchive("two.tar", $"[{OneImage[1..^1]},{OneImage[1..^1]}]");

        var error = Assert.ThrowsExactly<DtvException>(() => ImageArchiveFile.Read(path));

        Assert.AreEqual("DTV6009", error.Code);
        Assert.AreEqual(2, error.Arguments[1]);
    }

    [TestMethod]
    public void The_copy_that_is_loaded_carries_no_names()
    {
        var copy = _folder.Combine("untagged.tar");

        UntaggedLoad.WriteUntagged(SaveArchive("app.tar", OneImage), copy);

        Assert.AreEqual(ExpectedId(), ImageArchiveFile.Read(copy).Id);
        using var reader = new TarReader(File.OpenRead(copy));
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.Name == "manifest.json")
            {
                var text = new StreamReader(entry.DataStream!).ReadToEnd();
                Assert.IsFalse(text.Contains("RepoTags", StringComparison.Ordinal), text);
                StringAssert.Contains(text, "0123abcd.json");
            }
        }
    }

    [TestMethod]
    public void An_image_for_another_processor_is_refused()
    {
        var error = Assert.ThrowsExactly<DtvException>(() =>
            ResolveBaseImageFromTask.CheckArchitecture("vendor/app", "arm64", "v8", "linux-x64"));

        Assert.AreEqual("DTV6012", error.Code);
        ResolveBaseImageFromTask.CheckArchitecture("vendor/app", "amd64", string.Empty, "linux-x64");
        ResolveBaseImageFromTask.CheckArchitecture("vendor/app", "arm", string.Empty, "linux-arm");
    }

    [TestMethod]
    public void The_source_image_changes_the_recipe_digest()
    {
        var bootstrapped = new BaseRecipe
        {
            Suite = "trixie",
            Mirror = "http://deb.debian.org/debian",
            Variant = "minbase",
            Architecture = "amd64",
        };
        var fromOne = bootstrapped with { SourceImage = "sha256:" + new string('1', 64) };
        var fromOther = bootstrapped with { SourceImage = "sha256:" + new string('2', 64) };

        Assert.AreNotEqual(bootstrapped.ComputeDigest(), fromOne.ComputeDigest());
        Assert.AreNotEqual(fromOne.ComputeDigest(), fromOther.ComputeDigest());
        Assert.AreEqual(fromOne.ComputeDigest(), (fromOne with { }).ComputeDigest());
        StringAssert.Contains(fromOne.ToCanonicalJson(), "\"from\":\"sha256:1111");
        Assert.IsFalse(bootstrapped.ToCanonicalJson().Contains("\"from\"",
            StringComparison.Ordinal), "a bootstrapped recipe keeps the digest it always had");
    }
}
