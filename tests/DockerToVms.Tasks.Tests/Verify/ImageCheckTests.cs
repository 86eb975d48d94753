using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Verify;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Verify;

/// <summary>A check passes only with the exit code and output it asks for.</summary>
[TestClass]
public sealed class ImageCheckTests
{
    private static ImageCheck Check(string command, params (string Name, string Value)[] metadata) =>
        ImageCheck.FromItem(new TaskItem(command, metadata.ToDictionary(m => m.Name, m => m.Value)));

    [TestMethod]
    public void A_command_that_exits_with_zero_passes_by_default()
    {
        Assert.IsNull(Check("jq --version").Evaluate("app", 0, "jq-1.7.1\n"));
    }

    [TestMethod]
    public void Another_exit_code_fails_with_both_codes_and_the_output()
    {
        var failure = Check("jq --version").Evaluate("app", 2, "usage: jq\n");

        Assert.AreEqual("DTV6030", failure?.Code);
        Assert.AreEqual(2L, failure!.Arguments[2]);
        Assert.AreEqual(0, failure.Arguments[3]);
        StringAssert.Contains(failure.Message, "usage: jq");
    }

    [TestMethod]
    public void The_expected_exit_code_can_be_other_than_zero()
    {
        var check = Check("test -e /etc/shadow-", ("ExpectedExitCode", "1"));

        Assert.IsNull(check.Evaluate("app", 1, string.Empty));
        Assert.AreEqual("DTV6030", check.Evaluate("app", 0, string.Empty)?.Code);
    }

    [TestMethod]
    public void Output_without_the_expected_text_fails()
    {
        var check = Check("cat /etc/os-release", ("ExpectedOutput", "trixie"));

        Assert.IsNull(check.Evaluate("app", 0, "VERSION_CODENAME=trixie\n"));
        var failure = check.Evaluate("app", 0, "VERSION_CODENAME=bookworm\n");
        Assert.AreEqual("DTV6031", failure?.Code);
        Assert.AreEqual("trixie", failure!.Arguments[2]);
    }

    [TestMethod]
    public void A_program_the_shell_cannot_find_is_named_as_missing()
    {
        var failure = Check("nosuch --version | head").Evaluate("app", 127,
            "/bin/sh: 1: nosuch: not found\n");

        Assert.AreEqual("DTV6032", failure?.Code);
    }

    [TestMethod]
    public void A_program_the_engine_cannot_find_is_named_as_missing()
    {
        var check = Check("nosuch --version");

        Assert.AreEqual("DTV6032", check.StartFailure("app",
            "exec: \"nosuch\": executable file not found in $PATH").Code);
        Assert.AreEqual("DTV6034", check.StartFailure("app", "cgroup trouble").Code);
    }

    [TestMethod]
    public void A_plain_command_runs_without_a_shell()
    {
        Expect.Sequence(Check("jq  --version").Arguments, "jq", "--version");
        Expect.Sequence(Check("dpkg -s jq | grep Status").Arguments,
            "/bin/sh", "-c", "dpkg -s jq | grep Status");
        Expect.Sequence(Check("x", ("Command", "test -d /app; echo $?")).Arguments,
            "/bin/sh", "-c", "test -d /app; echo $?");
    }

    [TestMethod]
    public void Unusable_metadata_is_refused()
    {
        var error = Assert.ThrowsExactly<DtvException>(() => Check("true",
            ("ExpectedExitCode", "300")));

        Assert.AreEqual("DTV9045", error.Code);
        Assert.AreEqual(30, Check("true", ("Timeout", "30")).TimeoutSeconds);
    }

    [TestMethod]
    public void Long_output_is_cut_to_its_last_lines()
    {
        var output = string.Join('\n', Enumerable.Range(1, 50).Select(i => $"line {i}"));

        var tail = ImageCheck.Tail(output);

        Assert.IsFalse(tail.Contains("line 30\n", StringComparison.Ordinal), tail);
        StringAssert.EndsWith(tail, "line 50");
        Assert.AreEqual(" (no output)", ImageCheck.Tail("\n\n"));
    }
}
