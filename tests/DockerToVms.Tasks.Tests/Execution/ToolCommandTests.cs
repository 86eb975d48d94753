using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Tests.Execution;

[TestClass]
public sealed class ToolCommandTests
{
    [TestMethod]
    public void Plain_words_are_shown_as_they_are()
    {
        var command = new ToolCommand("tar", ["--create", "--file=-", "--exclude=./dev/*", "."]);

        Assert.AreEqual("tar --create --file=- '--exclude=./dev/*' .", command.ToString());
    }

    [TestMethod]
    public void Words_a_shell_would_split_or_expand_are_quoted()
    {
        var command = new ToolCommand("sh",
            ["-c", "echo $HOME", "it's", "", "a=b,c:d@e%f+g", "x;y"]);

        Assert.AreEqual(@"sh -c 'echo $HOME' 'it'\''s' '' a=b,c:d@e%f+g 'x;y'",
            command.ToString());
    }

    [TestMethod]
    public void A_display_text_replaces_the_command_line_in_logs()
    {
        var command = new ToolCommand("unshare", ["--mount", "secret-script"])
        {
            Display = "chroot /rootfs true",
        };

        Assert.AreEqual("chroot /rootfs true", command.ToString());
    }

    [TestMethod]
    public void The_tail_of_a_result_lists_its_last_lines()
    {
        Assert.AreEqual("(no output)", new ToolResult(1, []).Tail);
        Assert.AreEqual(Environment.NewLine + "a" + Environment.NewLine + "b",
            new ToolResult(1, ["a", "b"]).Tail);
    }
}
