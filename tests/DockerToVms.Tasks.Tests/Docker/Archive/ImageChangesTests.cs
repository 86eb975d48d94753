using DockerToVms.Tasks.Docker.Archive;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Docker.Archive;

/// <summary>The Dockerfile-style changes a base image can be imported with.</summary>
[TestClass]
public sealed class ImageChangesTests
{
    private static readonly ImageConfig s_empty = new() { Architecture = "amd64" };

    private static ImageConfig Apply(params string[] changes) =>
        ImageChanges.Apply(s_empty, changes, "/rootfs", "myapp-base:1");

    [TestMethod]
    public void ENV_sets_variables_and_a_later_value_replaces_an_earlier_one()
    {
        var config = Apply("ENV PATH=/bin A=1", "ENV B \"two words\"", "ENV A=\"x y\"");

        Expect.Sequence(config.Environment, "PATH=/bin", "B=\"two words\"", "A=x y");
    }

    [TestMethod]
    public void LABEL_takes_quoted_values()
    {
        var config = Apply("LABEL org.example.title=\"My app\" version=1");

        Assert.AreEqual("My app", config.Labels["org.example.title"]);
        Assert.AreEqual("1", config.Labels["version"]);
    }

    [TestMethod]
    public void CMD_and_ENTRYPOINT_take_the_json_form_or_the_shell_form()
    {
        var config = Apply("CMD [\"/bin/sh\", \"-l\"]", "ENTRYPOINT echo hi");

        Expect.Sequence(config.Cmd!, "/bin/sh", "-l");
        Expect.Sequence(config.Entrypoint!, "/bin/sh", "-c", "echo hi");
    }

    [TestMethod]
    public void WORKDIR_USER_and_EXPOSE_set_their_fields()
    {
        var config = Apply("workdir /srv", "USER 1654", "EXPOSE 8080 53/udp");

        Assert.AreEqual("/srv", config.WorkingDirectory);
        Assert.AreEqual("1654", config.User);
        Expect.Sequence(config.ExposedPorts, "8080/tcp", "53/udp");
    }

    [TestMethod]
    [DataRow("VOLUME /data")]
    [DataRow("ENV")]
    [DataRow("LABEL novalue")]
    [DataRow("CMD [\"unclosed\"")]
    [DataRow("ENV A=\"unclosed")]
    public void A_change_that_cannot_be_applied_is_DTV3002_naming_it(string change)
    {
        var error = Assert.ThrowsExactly<DtvException>(() => Apply(change));

        Assert.AreEqual("DTV3002", error.Code);
        StringAssert.Contains(error.Message, change);
    }
}
