using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Docker;

/// <summary>Mistakes in the image settings show up in an ordinary build.</summary>
[TestClass]
public sealed class CheckImageSettingsTaskTests
{
    private static (CheckImageSettingsTask Task, RecordingBuildEngine Engine) Create()
    {
        var engine = new RecordingBuildEngine();
        var task = new CheckImageSettingsTask
        {
            BuildEngine = engine,
            Repository = "myapp",
            RuntimeIdentifier = "linux-x64",
            CarriesRuntime = true,
        };
        return (task, engine);
    }

    private static void AssertFailsWith(string code, CheckImageSettingsTask task,
        RecordingBuildEngine engine)
    {
        Assert.IsFalse(task.Execute(), code);
        Expect.Codes(engine, code);
    }

    [TestMethod]
    public void Valid_settings_pass()
    {
        var (task, engine) = Create();
        task.BuildBaseImage = true;
        task.Ports = [new TaskItem("8080")];

        Assert.IsTrue(task.Execute(), engine.Log);
        Assert.AreEqual(0, engine.Errors.Count + engine.Warnings.Count, engine.Log);
    }

    [TestMethod]
    public void A_base_image_for_windows_is_refused()
    {
        var (task, engine) = Create();
        task.BuildBaseImage = true;
        task.RuntimeIdentifier = "win-x64";

        AssertFailsWith("DTV9002", task, engine);
    }

    [TestMethod]
    public void A_plain_build_does_not_check_the_runtime_identifier()
    {
        var (task, engine) = Create();
        task.RuntimeIdentifier = "win-x64";
        task.CarriesRuntime = false;

        Assert.IsTrue(task.Execute(), engine.Log);
    }

    [TestMethod]
    public void A_framework_dependent_app_needs_a_runtime_in_the_base()
    {
        var (task, engine) = Create();
        task.BuildBaseImage = true;
        task.CarriesRuntime = false;
        task.Packages = [new TaskItem("curl")];

        AssertFailsWith("DTV9003", task, engine);
    }

    [TestMethod]
    [DataRow("dotnet-runtime-8.0")]
    [DataRow("aspnetcore-runtime-9.0")]
    [DataRow("dotnet8")]
    public void A_framework_dependent_app_can_run_on_a_base_with_a_runtime_package(
        string package)
    {
        var (task, engine) = Create();
        task.BuildBaseImage = true;
        task.CarriesRuntime = false;
        task.Packages = [new TaskItem("curl"), new TaskItem(package)];

        Assert.IsTrue(task.Execute(), engine.Log);
    }

    [TestMethod]
    public void A_bad_repository_fails_even_in_a_plain_build()
    {
        var (task, engine) = Create();
        task.Repository = "My App";

        AssertFailsWith("DTV3003", task, engine);
    }

    [TestMethod]
    public void A_bad_port_fails_even_in_a_plain_build()
    {
        var (task, engine) = Create();
        task.Ports = [new TaskItem("http")];

        AssertFailsWith("DTV3007", task, engine);
    }
}
