using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests;

[TestClass]
public sealed class ConsoleAppTests
{
    private const string Program = """
        Console.WriteLine("Hello from a base image of my own");
        Console.WriteLine(File.ReadAllText("/etc/os-release").Split('\n')[0]);
        """;

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_can_publish_a_console_app_as_an_image_and_republish_only_its_layer()
    {
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);

        var first = await project.PublishAsync();
        Assert.AreEqual(0, first.ExitCode, first.Tail);
        var output = await project.RunImageAsync();
        StringAssert.Contains(output, "Hello from a base image of my own");
        StringAssert.Contains(output, "Debian GNU/Linux 13 (trixie)");
        var image = await project.InspectAsync(project.Repository, "{{.Id}}");
        var baseLayer = await project.InspectAsync(project.Repository,
            "{{index .RootFS.Layers 0}}");
        Assert.AreEqual("app", await project.InspectAsync(project.Repository,
            "{{.Config.User}}"), "a non-root user by default");

        var unchanged = await project.PublishAsync();
        Assert.AreEqual(0, unchanged.ExitCode, unchanged.Tail);
        AssertNoBaseWork(unchanged);
        StringAssert.Contains(unchanged.Output, "is unchanged", unchanged.Tail);
        Assert.AreEqual(image, await project.InspectAsync(project.Repository, "{{.Id}}"));

        await project.WriteProgramAsync(Program.Replace("Hello from", "Changed greeting from",
            StringComparison.Ordinal));
        var changed = await project.PublishAsync();
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

    private static void AssertNoBaseWork(CommandResult publish)
    {
        Assert.IsFalse(publish.Output.Contains("bootstrap took", StringComparison.Ordinal),
            "no bootstrap on a cached recipe\n" + publish.Tail);
        Assert.IsFalse(publish.Output.Contains("imported the base image",
            StringComparison.Ordinal), "no import of a base already in Docker\n" + publish.Tail);
        StringAssert.Contains(publish.Output, "not imported again", publish.Tail);
    }
}
