using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Docker;

[TestClass]
public sealed class ImageSettingsTests
{
    private static ImageSettings Read(string repository = "myapp", string tag = "",
        string[]? tags = null, string workingDirectory = "", string user = "",
        ITaskItem[]? environment = null, ITaskItem[]? ports = null) =>
        ImageSettings.Read(repository, tag, tags ?? [], workingDirectory, user, [], [],
            environment ?? [], ports ?? [], []);

    private static TaskItem Port(string number, string type = "") =>
        new(number, new Dictionary<string, string> { [ImageSettings.TypeMetadata] = type });

    [TestMethod]
    public void Unset_values_get_the_defaults_of_the_sdk()
    {
        var settings = Read();

        Assert.AreEqual("myapp", settings.Repository);
        Expect.Sequence(settings.Tags, "latest");
        Assert.AreEqual("/app", settings.WorkingDirectory);
        Assert.AreEqual(string.Empty, settings.User);
        Assert.AreEqual(0, settings.Ports.Count);
    }

    [TestMethod]
    public void A_single_tag_is_used()
    {
        Expect.Sequence(Read(tag: "1.2.3").Tags, "1.2.3");
    }

    [TestMethod]
    public void A_tag_list_replaces_the_single_tag_and_loses_duplicates()
    {
        var settings = Read(tag: "ignored", tags: ["1.2.3", "latest", "1.2.3"]);

        Expect.Sequence(settings.Tags, "1.2.3", "latest");
    }

    [TestMethod]
    [DataRow("/srv/app/", "/srv/app")]
    [DataRow("/srv/app", "/srv/app")]
    [DataRow("/", "/")]
    public void The_working_directory_loses_a_trailing_slash(string given, string expected)
    {
        Assert.AreEqual(expected, Read(workingDirectory: given).WorkingDirectory);
    }

    [TestMethod]
    public void Ports_are_written_as_number_and_protocol()
    {
        var settings = Read(ports: [Port("8080"), Port("53", "UDP"), Port("8080", "tcp"),
            Port("443", "tcp")]);

        Expect.Sequence(settings.Ports, "8080/tcp", "53/udp", "443/tcp");
    }

    [TestMethod]
    public void Environment_variables_keep_their_order_and_values()
    {
        var settings = Read(environment:
        [
            new TaskItem("B", new Dictionary<string, string> { ["Value"] = "2" }),
            new TaskItem("A", new Dictionary<string, string> { ["Value"] = "x=1; y" }),
        ]);

        Expect.Sequence(settings.Environment,
            KeyValuePair.Create("B", "2"), KeyValuePair.Create("A", "x=1; y"));
    }

    [TestMethod]
    public void Equal_settings_have_equal_canonical_text_and_changed_ones_do_not()
    {
        Assert.AreEqual(Read().ToCanonicalJson(), Read().ToCanonicalJson());
        Assert.AreNotEqual(Read().ToCanonicalJson(), Read(user: "app").ToCanonicalJson());
        Assert.AreNotEqual(Read().ToCanonicalJson(),
            Read(ports: [Port("80")]).ToCanonicalJson());
        Assert.AreNotEqual(Read().ToCanonicalJson(),
            Read(workingDirectory: "/srv").ToCanonicalJson());
    }

    [TestMethod]
    public void Invalid_values_fail_with_their_codes()
    {
        var cases = new (Func<ImageSettings> Read, string Code)[]
        {
            (() => Read(repository: "My App"), "DTV3003"),
            (() => Read(repository: ""), "DTV3003"),
            (() => Read(tag: "-x"), "DTV3004"),
            (() => Read(tags: ["ok", "not ok"]), "DTV3004"),
            (() => Read(workingDirectory: "app"), "DTV2007"),
            (() => Read(workingDirectory: "/app/../etc"), "DTV2007"),
            (() => Read(user: "App"), "DTV3010"),
            (() => Read(environment: [new TaskItem("MY-VAR")]), "DTV3008"),
            (() => Read(ports: [Port("0")]), "DTV3007"),
            (() => Read(ports: [Port("65536")]), "DTV3007"),
            (() => Read(ports: [Port("abc")]), "DTV3007"),
            (() => Read(ports: [Port("80", "sctp")]), "DTV3007"),
        };

        foreach (var (read, code) in cases)
        {
            var error = Assert.ThrowsExactly<DtvException>(() => read(), code);
            Assert.AreEqual(code, error.Code, error.Message);
        }
    }
}
