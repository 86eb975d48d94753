using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests;

[TestClass]
public sealed class ConsoleAppTests
{
    private const string Slim = "-p:BaseImageTrim=slim";

    private const string Program = """
        Console.WriteLine("Hello from a base image of my own");
        Console.WriteLine(File.ReadAllText("/etc/os-release").Split('\n')[0]);
        """;

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_can_prepare_the_base_then_publish_and_republish_only_the_app_layer()
    {
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);

        // A pipeline may prepare the base in a step of its own, before the app is published;
        // the whole base is ready then only at a trim level that does not depend on the
        // published files (an app-level base is derived from them).
        var build = await Shell.RunAsync(project.Directory, "dotnet", "build", "-r",
            "linux-x64", "-p:BuildBaseImage=true", Slim);
        Assert.AreEqual(0, build.ExitCode, build.Tail);
        var baseImage = await project.InspectAsync(project.Repository + "-base:"
            + BaseTag(build), "{{.Id}}");
        var noApp = await Shell.RunAsync(project.Directory, "docker", "image", "inspect",
            project.Repository);
        Assert.AreNotEqual(0, noApp.ExitCode, "a build makes no app image");

        var first = await project.PublishAsync(Slim);
        Assert.AreEqual(0, first.ExitCode, first.Tail);
        AssertNoBaseWork(first);
        var output = await project.RunImageAsync();
        StringAssert.Contains(output, "Hello from a base image of my own");
        StringAssert.Contains(output, "Debian GNU/Linux 13 (trixie)");
        var image = await project.InspectAsync(project.Repository, "{{.Id}}");
        var baseLayer = await project.InspectAsync(project.Repository,
            "{{index .RootFS.Layers 0}}");
        Assert.AreEqual("app", await project.InspectAsync(project.Repository,
            "{{.Config.User}}"), "a non-root user by default");
        Assert.AreEqual(await project.InspectAsync(baseImage, "{{index .RootFS.Layers 0}}"),
            baseLayer, "the app image stands on the base the build prepared");

        var unchanged = await project.PublishAsync(Slim);
        Assert.AreEqual(0, unchanged.ExitCode, unchanged.Tail);
        AssertNoBaseWork(unchanged);
        StringAssert.Contains(unchanged.Output, "is unchanged", unchanged.Tail);
        Assert.AreEqual(image, await project.InspectAsync(project.Repository, "{{.Id}}"));

        await project.WriteProgramAsync(Program.Replace("Hello from", "Changed greeting from",
            StringComparison.Ordinal));
        var changed = await project.PublishAsync(Slim);
        Assert.AreEqual(0, changed.ExitCode, changed.Tail);
        AssertNoBaseWork(changed);
        StringAssert.Contains(changed.Output, "built the app image", changed.Tail);
        StringAssert.Contains(await project.RunImageAsync(), "Changed greeting from");
        Assert.AreNotEqual(image, await project.InspectAsync(project.Repository, "{{.Id}}"));
        Assert.AreEqual(baseLayer, await project.InspectAsync(project.Repository,
            "{{index .RootFS.Layers 0}}"), "the base layer is shared");
        Assert.AreEqual("2", await project.InspectAsync(project.Repository,
            "{{len .RootFS.Layers}}"), "one base layer and one app layer");
    }

    // The build log names the base image as <repository>-base:<first 12 of the digest>.
    private static string BaseTag(CommandResult build)
    {
        var match = System.Text.RegularExpressions.Regex.Match(build.Output,
            @"base recipe ([0-9a-f]{12}) ");
        Assert.IsTrue(match.Success, build.Tail);
        return match.Groups[1].Value;
    }

    private static void AssertNoBaseWork(CommandResult publish)
    {
        Assert.IsFalse(publish.Output.Contains("bootstrap took", StringComparison.Ordinal),
            "no bootstrap on a cached recipe\n" + publish.Tail);
        Assert.IsFalse(publish.Output.Contains("imported the base image",
            StringComparison.Ordinal), "no import of a base already in Docker\n" + publish.Tail);
        StringAssert.Contains(publish.Output, "not imported again", publish.Tail);
    }
}
