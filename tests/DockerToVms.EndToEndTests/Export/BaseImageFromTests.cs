using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Export;

/// <summary>
/// A user who must keep a given image starts the base from it (BaseImageFrom), adds a
/// package, checks the finished image (BaseImageCheck) and gets an SBOM of it; a wrong
/// source or a failing check fails the build with a DTV code.
/// </summary>
[TestClass]
public sealed class BaseImageFromTests
{
    private const string Program = "Console.WriteLine(\"hello from an exported base\");";
    private static UserProject? s_project;

    [ClassInitialize]
    public static async Task CreateProject(TestContext context) =>
        s_project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);

    [ClassCleanup]
    public static async Task RemoveProject()
    {
        if (s_project is not null)
        {
            await s_project.DisposeAsync();
        }
    }

    [TestMethod]
    [Timeout(1_200_000, CooperativeCancellation = true)]
    public async Task I_can_start_from_an_existing_image_add_a_package_and_check_the_result()
    {
        var project = s_project!;

        // The image to start from: a full base the same pipeline made.
        var build = await Shell.RunAsync(project.Directory, "dotnet", "build", "-r", "linux-x64",
            "-p:BuildBaseImage=true", "-p:BaseImageTrim=slim");
        Assert.AreEqual(0, build.ExitCode, build.Tail);
        var source = $"{project.Repository}-base:{Match(build, @"base recipe ([0-9a-f]{12}) ")}";

        await project.WriteProjectAsync("Microsoft.NET.Sdk", """
            <ItemGroup>
              <BaseImagePackage Include="jq" />
              <BaseImageCheck Include="jq --version" ExpectedOutput="jq-1." />
              <BaseImageCheck Include="status" Command="dpkg-query -W -f '${Status}' jq" ExpectedOutput="installed" />
            </ItemGroup>
            """);
        var publish = await project.PublishAsync("-p:BaseImageFrom=" + source,
            "-p:BaseImageTrim=slim");

        Assert.AreEqual(0, publish.ExitCode, publish.Tail);
        StringAssert.Contains(publish.Output, "unpacked", publish.Tail);
        StringAssert.Contains(publish.Output, "2 of 2 image checks passed", publish.Tail);
        Assert.IsFalse(publish.Output.Contains("debootstrap", StringComparison.Ordinal),
            "no bootstrap\n" + publish.Tail);
        var jq = await Shell.CheckAsync(project.Directory, "docker", "run", "--rm", "--pull",
            "never", "--network", "none", "--entrypoint", "jq", project.Repository, "--version");
        StringAssert.StartsWith(jq.Trim(), "jq-1.");
        StringAssert.Contains(await project.RunImageAsync(), "hello from an exported base");

        await AssertSbomMatchesDpkgAsync(project, publish);

        // A failing check fails the publish, naming the command, the wish and the outcome.
        await project.WriteProjectAsync("Microsoft.NET.Sdk", """
            <ItemGroup>
              <BaseImagePackage Include="jq" />
              <BaseImageCheck Include="jq --version" ExpectedOutput="jq-0.9" />
              <BaseImageCheck Include="no-such-tool --version" />
            </ItemGroup>
            """);
        var failing = await project.PublishAsync("-p:BaseImageFrom=" + source,
            "-p:BaseImageTrim=slim");

        Assert.AreNotEqual(0, failing.ExitCode, failing.Tail);
        CollectionAssert.AreEquivalent(new[] { "DTV6031", "DTV6032" },
            failing.ErrorCodes.ToArray(), failing.Tail);
        StringAssert.Contains(failing.Output, "jq-0.9", failing.Tail);
        StringAssert.Contains(failing.Output, "no-such-tool", failing.Tail);
        Assert.IsFalse(failing.Output.Contains("unpacked", StringComparison.Ordinal),
            "the exported base is cached\n" + failing.Tail);
    }

    [TestMethod]
    public async Task An_image_that_is_not_in_docker_is_never_pulled()
    {
        var build = await Shell.RunAsync(s_project!.Directory, "dotnet", "build", "-r",
            "linux-x64", "-p:BuildBaseImage=true", "-p:BaseImageFrom=dtv-e2e-no-such-image:1");

        AssertFailedWith(build, "DTV6011");
    }

    [TestMethod]
    public async Task An_archive_that_is_not_a_tar_is_refused()
    {
        var archive = Path.Combine(Path.GetTempPath(), $"dtv-e2e-{Guid.NewGuid():N}.tar");
        await File.WriteAllTextAsync(archive, string.Concat(Enumerable.Repeat(
            "not an image archive at all\n", 100)));
        try
        {
            var build = await Shell.RunAsync(s_project!.Directory, "dotnet", "build", "-r",
                "linux-x64", "-p:BuildBaseImage=true", "-p:BaseImageFrom=" + archive);

            AssertFailedWith(build, "DTV6008");
        }
        finally
        {
            File.Delete(archive);
        }
    }

    // The SBOM beside the publish folder, the one in the image and the image's label agree,
    // and its Debian packages are exactly those dpkg reports inside the image.
    private static async Task AssertSbomMatchesDpkgAsync(UserProject project, CommandResult publish)
    {
        var file = Match(publish, @"wrote the SBOM (\S+\.cdx\.json)");
        var bytes = await File.ReadAllBytesAsync(file);
        var inImage = await Shell.CheckAsync(project.Directory, "docker", "run", "--rm", "--pull",
            "never", "--network", "none", "--entrypoint", "cat", project.Repository,
            "/usr/share/dockertovms/sbom.cdx.json");
        Assert.AreEqual(System.Text.Encoding.UTF8.GetString(bytes), inImage);
        Assert.AreEqual("sha256:" + Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(),
            await project.InspectAsync(project.Repository,
                "{{index .Config.Labels \"dev.dockertovms.sbom.digest\"}}"));

        var dpkg = await Shell.CheckAsync(project.Directory, "docker", "run", "--rm", "--pull",
            "never", "--network", "none", "--entrypoint", "dpkg-query", project.Repository,
            "-W", "-f=${db:Status-Status} ${Package}@${Version}\n");
        var expected = dpkg.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("installed ", StringComparison.Ordinal))
            .Select(l => l["installed ".Length..]).Order(StringComparer.Ordinal).ToList();

        using var document = JsonDocument.Parse(bytes);
        var listed = document.RootElement.GetProperty("components").EnumerateArray()
            .Where(c => c.TryGetProperty("purl", out var purl)
                && purl.GetString()!.StartsWith("pkg:deb/", StringComparison.Ordinal))
            .Select(c => $"{c.GetProperty("name").GetString()}@{c.GetProperty("version").GetString()}")
            .Order(StringComparer.Ordinal).ToList();
        CollectionAssert.AreEqual(expected, listed);
        CollectionAssert.Contains(listed, expected.First(p => p.StartsWith("jq@", StringComparison.Ordinal)));
        Assert.IsTrue(document.RootElement.GetProperty("components").EnumerateArray().Any(c =>
            c.TryGetProperty("purl", out var purl) && purl.GetString()!.StartsWith(
                "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-x64@", StringComparison.Ordinal)),
            "the runtime pack of the self-contained app is listed");
    }

    private static string Match(CommandResult result, string pattern)
    {
        var match = Regex.Match(result.Output, pattern);
        Assert.IsTrue(match.Success, $"no match for {pattern}\n{result.Tail}");
        return match.Groups[1].Value;
    }

    private static void AssertFailedWith(CommandResult result, string code)
    {
        Assert.AreNotEqual(0, result.ExitCode, result.Tail);
        CollectionAssert.Contains(result.ErrorCodes.ToArray(), code, result.Tail);
    }
}
