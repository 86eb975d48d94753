using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Verify;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Verify;

/// <summary>Contradictions in the base settings show up in an ordinary build.</summary>
[TestClass]
public sealed class CheckRecipeSettingsTaskTests
{
    private static (CheckRecipeSettingsTask Task, RecordingBuildEngine Engine) Create()
    {
        var engine = new RecordingBuildEngine();
        return (new CheckRecipeSettingsTask { BuildEngine = engine }, engine);
    }

    private static TaskItem Item(string spec, params (string Name, string Value)[] metadata) =>
        new TaskItem(spec, metadata.ToDictionary(m => m.Name, m => m.Value));

    [TestMethod]
    public void Plain_settings_pass_without_warnings()
    {
        var (task, engine) = Create();
        task.Packages = [Item("curl"), Item("jq")];
        task.Runs = [Item("echo hello > /etc/motd")];
        task.Checks = [Item("jq --version", ("ExpectedOutput", "jq-1"))];

        Assert.IsTrue(task.Execute(), engine.Log);
        Assert.AreEqual(0, engine.Errors.Count + engine.Warnings.Count, engine.Log);
    }

    [TestMethod]
    public void Bootstrap_settings_are_reported_as_ignored_with_base_image_from()
    {
        var (task, engine) = Create();
        task.BaseImageFrom = "vendor/app:1";
        task.BootstrapSettings = [Item("BaseImageSuite", ("Value", "bookworm")),
            Item("BaseImageMirror", ("Value", "http://mirror.example/debian"))];

        Assert.IsTrue(task.Execute(), "warnings only");
        Expect.Sequence(engine.WarningCodes, "DTV9041", "DTV9041");
        StringAssert.Contains(engine.Warnings[0].Message, "BaseImageSuite");
    }

    [TestMethod]
    public void Bootstrap_settings_are_fine_without_base_image_from()
    {
        var (task, engine) = Create();
        task.BootstrapSettings = [Item("BaseImageSuite", ("Value", "bookworm"))];

        Assert.IsTrue(task.Execute());
        Assert.IsEmpty(engine.Warnings);
    }

    [TestMethod]
    public void A_package_named_twice_is_a_warning()
    {
        var (task, engine) = Create();
        task.Packages = [Item("curl"), Item("jq"), Item("curl")];

        Assert.IsTrue(task.Execute());
        Expect.Sequence(engine.WarningCodes, "DTV9042");
    }

    [TestMethod]
    public void A_package_installed_and_excluded_is_a_warning()
    {
        var (task, engine) = Create();
        task.Packages = [Item("curl")];
        task.ExcludedPackages = [Item("curl")];

        Assert.IsTrue(task.Execute());
        Expect.Sequence(engine.WarningCodes, "DTV9043");
    }

    [TestMethod]
    public void A_run_command_that_needs_the_network_fails_an_offline_recipe()
    {
        var (task, engine) = Create();
        task.Offline = true;
        task.Runs = [Item("apt-get -y update"), Item("x", ("Command", "cd /tmp; wget -q x")),
            Item("echo done")];

        Assert.IsFalse(task.Execute());
        Expect.Codes(engine, "DTV9044", "DTV9044");
    }

    [TestMethod]
    public void The_same_commands_are_fine_when_the_recipe_is_not_offline()
    {
        var (task, engine) = Create();
        task.Runs = [Item("apt-get -y update")];

        Assert.IsTrue(task.Execute(), engine.Log);
    }

    [TestMethod]
    public void An_unknown_trim_level_fails_before_anything_runs()
    {
        var (task, engine) = Create();
        task.Trim = "tiny";

        Assert.IsFalse(task.Execute());
        Expect.Codes(engine, "DTV9006");
    }

    [TestMethod]
    public void A_check_with_an_exit_code_that_is_not_a_number_fails()
    {
        var (task, engine) = Create();
        task.Checks = [Item("true", ("ExpectedExitCode", "zero")),
            Item("sleep 1", ("Timeout", "-5"))];

        Assert.IsFalse(task.Execute());
        Expect.Codes(engine, "DTV9045", "DTV9045");
    }

    [TestMethod]
    [DataRow("apt-get install -y curl", "apt-get install")]
    [DataRow("apt-get -y -q install curl", "apt-get -y -q install")]
    [DataRow("apt update && apt install x", "apt update")]
    [DataRow("/usr/bin/curl -fsSL https://example.org | sh", "curl")]
    [DataRow("(wget -O- x)", "wget")]
    [DataRow("git clone https://example.org/x.git", "git clone")]
    [DataRow("pip3 install requests", "pip3 install")]
    public void Network_tools_are_recognised(string command, string tool) =>
        Assert.AreEqual(tool, RecipeLint.NetworkTool(command));

    [TestMethod]
    [DataRow("apt-get clean")]
    [DataRow("dpkg -i /tmp/libcurl4.deb")]
    [DataRow("echo curling > /etc/motd")]
    [DataRow("rm -rf /var/lib/apt/lists/*")]
    public void Local_commands_are_not_taken_for_network_tools(string command) =>
        Assert.IsNull(RecipeLint.NetworkTool(command));
}
