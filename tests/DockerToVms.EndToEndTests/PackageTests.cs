using System.IO.Compression;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests;

[TestClass]
public sealed class PackageTests
{
    // What users download: build logic, the task assembly and the libraries it loads. MSBuild's
    // own assemblies must never be in it; MSBuild provides them.
    private static readonly string[] s_expectedFiles =
    [
        "README.md",
        "Sdk/Sdk.props",
        "Sdk/Sdk.targets",
        "build/DockerToVms.Archive.targets",
        "build/DockerToVms.Registry.targets",
        "build/DockerToVms.Sdk.props",
        "build/DockerToVms.Sdk.targets",
        "build/DockerToVms.Vm.targets",
        "icon.png",
        "tasks/net8.0/CliWrap.dll",
        "tasks/net8.0/Docker.DotNet.dll",
        "tasks/net8.0/DockerToVms.TaskHost.dll",
        "tasks/net8.0/DockerToVms.TaskHost.runtimeconfig.json",
        "tasks/net8.0/DockerToVms.Tasks.deps.json",
        "tasks/net8.0/DockerToVms.Tasks.dll",
        "tasks/net8.0/ELFSharp.dll",
        "tasks/net8.0/Newtonsoft.Json.dll",
    ];

    [TestMethod]
    public async Task The_package_holds_the_build_logic_and_the_task_assembly_only()
    {
        var feed = await LocalFeed.GetAsync();
        var package = Path.Combine(feed, $"DockerToVms.Sdk.{LocalFeed.Version}.nupkg");

        using var archive = ZipFile.OpenRead(package);
        var files = archive.Entries.Select(e => e.FullName)
            .Where(name => !name.StartsWith("_rels/", StringComparison.Ordinal)
                && !name.StartsWith("package/", StringComparison.Ordinal)
                && name != "[Content_Types].xml" && name != "DockerToVms.Sdk.nuspec")
            .Order(StringComparer.Ordinal)
            .ToArray();

        CollectionAssert.AreEqual(s_expectedFiles, files, string.Join('\n', files));
    }

    [TestMethod]
    public async Task The_package_can_be_used_as_an_msbuild_sdk()
    {
        var feed = await LocalFeed.GetAsync();
        using var archive = ZipFile.OpenRead(
            Path.Combine(feed, $"DockerToVms.Sdk.{LocalFeed.Version}.nupkg"));
        using var reader = new StreamReader(archive.GetEntry("DockerToVms.Sdk.nuspec")!.Open());

        var nuspec = await reader.ReadToEndAsync();

        StringAssert.Contains(nuspec, "<packageType name=\"MSBuildSdk\" />");
        StringAssert.Contains(nuspec, "<packageType name=\"Dependency\" />");
        Assert.IsFalse(nuspec.Contains("<dependencies>", StringComparison.Ordinal),
            "the package brings its libraries itself and adds no dependency to the project");
    }

    [TestMethod]
    public async Task I_can_name_the_package_as_an_sdk_instead_of_referencing_it()
    {
        var feed = await LocalFeed.GetAsync();
        var directory = Directory.CreateTempSubdirectory("dtv-e2e-sdk-").FullName;
        try
        {
            await UserProject.WriteNuGetConfigAsync(directory, feed);
            await File.WriteAllTextAsync(Path.Combine(directory, "SdkStyle.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <Sdk Name="DockerToVms.Sdk" Version="{LocalFeed.Version}" />
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ContainerRepository>Not A Repository</ContainerRepository>
                  </PropertyGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(directory, "Program.cs"),
                "System.Console.WriteLine();");

            var build = await Shell.RunAsync(directory, "dotnet", "build");

            Assert.AreNotEqual(0, build.ExitCode, build.Tail);
            CollectionAssert.Contains(build.ErrorCodes.ToArray(), "DTV3003", build.Tail);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
