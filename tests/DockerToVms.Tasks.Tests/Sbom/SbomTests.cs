using System.Text.Json;
using DockerToVms.Tasks.Sbom;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Sbom;

/// <summary>
/// The SBOM lists the installed Debian packages and the app's NuGet packages with purls that
/// scanners match, and the same image always gives the same bytes.
/// </summary>
[TestClass]
public sealed class SbomTests : IDisposable
{
    private const string Status = """
        Package: libc6
        Status: install ok installed
        Architecture: amd64
        Multi-Arch: same
        Source: glibc
        Version: 2.41-12
        Description: GNU C Library: Shared libraries
         Contains the standard libraries that are used by nearly all programs on
         the system.

        Package: bsdutils
        Status: install ok installed
        Architecture: amd64
        Source: util-linux (2.41-5)
        Version: 1:2.41-5
        Conffiles:
         /etc/x 0123

        Package: removed-one
        Status: deinstall ok config-files
        Architecture: amd64
        Version: 1.0

        Package: tzdata
        Status: install ok installed
        Architecture: all
        Version: 2025b-4+deb13u1

        """;

    private const string Deps = """
        {
          "runtimeTarget": { "name": ".NETCoreApp,Version=v10.0/linux-x64" },
          "libraries": {
            "Hello/1.0.0": { "type": "project", "serviceable": false, "sha512": "" },
            "Newtonsoft.Json/13.0.3": { "type": "package", "serviceable": true,
              "sha512": "sha512-AAEC", "path": "newtonsoft.json/13.0.3" },
            "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/10.0.0": { "type": "runtimepack" },
            "Microsoft.NETCore.Targets/1.0.0": { "type": "reference" }
          }
        }
        """;

    private readonly TemporaryDirectory _root = new("dtv-sbom-");

    public SbomTests()
    {
        _root.Write(DpkgStatus.StatusFile, Status);
        _root.Write("usr/lib/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nID=debian\nVERSION_ID=\"13\"\n");
        Directory.CreateDirectory(_root.Combine("etc"));
        File.CreateSymbolicLink(_root.Combine("etc/os-release"), "../usr/lib/os-release");
        _root.Write("publish/Hello.deps.json", Deps);
    }

    public void Dispose() => _root.Dispose();

    private WriteSbomTask Task(RecordingBuildEngine engine, string output) => new()
    {
        BuildEngine = engine,
        RootDirectory = _root.Path,
        DepsFile = _root.Combine("publish/Hello.deps.json"),
        OutputFile = output,
        Repository = "hello",
        Tag = "1.0",
        AppName = "Hello",
        AppVersion = "1.0.0",
    };

    [TestMethod]
    public void Only_installed_packages_are_read_with_their_sources()
    {
        var packages = DpkgStatus.Read(_root.Path);

        Expect.Sequence(packages.Select(p => p.Name), "bsdutils", "libc6", "tzdata");
        Assert.AreEqual("util-linux", packages[0].Source);
        Assert.AreEqual("2.41-5", packages[0].SourceVersion);
        Assert.AreEqual("glibc", packages[1].Source);
        Assert.AreEqual("2.41-12", packages[1].SourceVersion);
    }

    [TestMethod]
    public void Per_package_status_files_are_read_too()
    {
        _root.Write("var/lib/dpkg/status.d/jq", "Package: jq\nVersion: 1.7.1-6\nArchitecture: amd64\n");

        Assert.IsTrue(DpkgStatus.Read(_root.Path).Any(p => p.Name == "jq"));
    }

    [TestMethod]
    public void Debian_purls_keep_the_epoch_colon_and_encode_the_plus()
    {
        Assert.AreEqual("pkg:deb/debian/bsdutils@1:2.41-5?arch=amd64&distro=debian-13",
            PackageUrl.Deb("debian", "bsdutils", "1:2.41-5", "amd64", "debian-13"));
        Assert.AreEqual("pkg:deb/debian/tzdata@2025b-4%2Bdeb13u1?arch=all&distro=debian-13",
            PackageUrl.Deb("debian", "tzdata", "2025b-4+deb13u1", "all", "debian-13"));
        Assert.AreEqual("pkg:deb/debian/libstdc%2B%2B6@14.2.0-19?arch=amd64",
            PackageUrl.Deb("Debian", "libstdc++6", "14.2.0-19", "amd64", string.Empty));
        Assert.AreEqual("pkg:nuget/Newtonsoft.Json@13.0.3", PackageUrl.NuGet("Newtonsoft.Json", "13.0.3"));
    }

    [TestMethod]
    public void NuGet_packages_and_the_runtime_pack_are_read_without_projects()
    {
        var packages = NuGetDependencies.Read(_root.Combine("publish/Hello.deps.json"));

        Expect.Sequence(packages.Select(p => $"{p.Name}/{p.Version}"),
            "Microsoft.NETCore.App.Runtime.linux-x64/10.0.0", "Newtonsoft.Json/13.0.3");
        Assert.AreEqual("000102", packages[1].Sha512);
    }

    [TestMethod]
    public void The_distribution_is_read_through_its_relative_link_only()
    {
        var system = Tasks.Sbom.OperatingSystem.Read(_root.Path);

        Assert.AreEqual("debian-13", system.Distro);
        Assert.AreEqual("Debian GNU/Linux 13 (trixie)", system.Name);
    }

    [TestMethod]
    public void I_get_a_cyclonedx_document_with_every_package_and_its_purl()
    {
        var engine = new RecordingBuildEngine();
        var output = _root.Combine("out/hello.cdx.json");
        var task = Task(engine, output);

        Assert.IsTrue(task.Execute(), engine.Log);

        using var document = JsonDocument.Parse(File.ReadAllBytes(output));
        var root = document.RootElement;
        Assert.AreEqual("CycloneDX", root.GetProperty("bomFormat").GetString());
        Assert.AreEqual("1.6", root.GetProperty("specVersion").GetString());
        Assert.AreEqual("hello", root.GetProperty("metadata").GetProperty("component")
            .GetProperty("name").GetString());
        var purls = root.GetProperty("components").EnumerateArray()
            .Where(c => c.TryGetProperty("purl", out _))
            .Select(c => c.GetProperty("purl").GetString()).ToList();
        Expect.Sequence(purls,
            "pkg:deb/debian/bsdutils@1:2.41-5?arch=amd64&distro=debian-13",
            "pkg:deb/debian/libc6@2.41-12?arch=amd64&distro=debian-13",
            "pkg:deb/debian/tzdata@2025b-4%2Bdeb13u1?arch=all&distro=debian-13",
            "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-x64@10.0.0",
            "pkg:nuget/Newtonsoft.Json@13.0.3");
        Assert.AreEqual(5, task.PackageCount);
        Assert.AreEqual(CycloneDxDocumentDigest(output), task.Digest);
        Assert.IsFalse(File.ReadAllText(output).Contains("timestamp", StringComparison.Ordinal));
    }

    [TestMethod]
    public void The_same_content_gives_the_same_bytes_and_serial_number()
    {
        var content = new SbomContent
        {
            Repository = "hello",
            OperatingSystem = Tasks.Sbom.OperatingSystem.Read(_root.Path),
            DebianPackages = DpkgStatus.Read(_root.Path),
        };

        var first = CycloneDxDocument.Write(content);
        var second = CycloneDxDocument.Write(content with { });
        var other = CycloneDxDocument.Write(content with { Tag = "2.0" });

        CollectionAssert.AreEqual(first, second);
        var serial = Serial(first);
        Assert.AreNotEqual(serial, Serial(other), "another content, another serial number");
        StringAssert.Matches(serial, new System.Text.RegularExpressions.Regex(
            "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"));
    }

    [TestMethod]
    public void An_unchanged_sbom_is_not_written_again()
    {
        var output = _root.Combine("out/hello.cdx.json");
        Assert.IsTrue(Task(new RecordingBuildEngine(), output).Execute());
        var written = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(output, written);

        Assert.IsTrue(Task(new RecordingBuildEngine(), output).Execute());

        Assert.AreEqual(written, File.GetLastWriteTimeUtc(output));
    }

    [TestMethod]
    public void A_base_without_a_package_database_is_a_warning()
    {
        File.Delete(_root.Combine(DpkgStatus.StatusFile));
        var engine = new RecordingBuildEngine();

        Assert.IsTrue(Task(engine, _root.Combine("out/x.cdx.json")).Execute());

        Expect.Sequence(engine.WarningCodes, "DTV6040");
    }

    private static string Serial(byte[] document)
    {
        using var json = JsonDocument.Parse(document);
        return json.RootElement.GetProperty("serialNumber").GetString()!;
    }

    private static string CycloneDxDocumentDigest(string path) =>
        "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            File.ReadAllBytes(path))).ToLowerInvariant();
}
