using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Tests.Rootfs;

[TestClass]
public sealed class TrimRootfsTaskTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-trimtask-");

    public void Dispose() => _folder.Dispose();

    private (TrimRootfsTask Task, RecordingBuildEngine Engine) Create(string level)
    {
        var engine = new RecordingBuildEngine();
        var task = new TrimRootfsTask
        {
            BuildEngine = engine,
            RootDirectory = _folder.Path,
            Level = level,
        };
        return (task, engine);
    }

    [TestMethod]
    public void A_root_filesystem_is_trimmed_and_the_removed_size_reported()
    {
        _folder.Write("bin/sh", string.Empty);
        _folder.WriteBytes("var/log/dpkg.log", 3 * 1048576);
        var (task, engine) = Create("slim");

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual(3 * 1048576, task.RemovedBytes);
        Assert.IsFalse(File.Exists(_folder.Combine("var/log/dpkg.log")));
        Assert.IsTrue(engine.Messages.Any(m => m.Importance == MessageImportance.Normal
            && m.Message?.Contains(" 3.0 MB", StringComparison.Ordinal) == true), engine.Log);
    }

    [TestMethod]
    public void A_root_filesystem_with_merged_usr_is_recognised()
    {
        _folder.Write("usr/bin/sh", string.Empty);
        var (task, engine) = Create("none");

        Assert.IsTrue(task.Execute(), engine.Log);
    }

    [TestMethod]
    public void An_unknown_level_fails_with_DTV9006()
    {
        _folder.Write("bin/sh", string.Empty);
        var (task, engine) = Create("fat");

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV9006");
    }

    [TestMethod]
    public void A_folder_that_is_not_a_root_filesystem_is_not_trimmed()
    {
        _folder.WriteBytes("var/log/dpkg.log", 10);
        var (task, engine) = Create("slim");

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2001");
        Assert.IsTrue(File.Exists(_folder.Combine("var/log/dpkg.log")));
    }
}
