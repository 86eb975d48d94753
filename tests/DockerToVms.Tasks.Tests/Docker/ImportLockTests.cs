using DockerToVms.Tasks.Docker;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Docker;

/// <summary>
/// Imports under one reference wait for each other through a lock file in a folder of the
/// temporary folder, which other users share; a folder that is not the user's own is refused
/// before anything is written into it.
/// </summary>
[TestClass]
public sealed class ImportLockTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("dtv-import-lock-");

    public void Dispose() => _temporary.Dispose();

    [TestMethod]
    public void The_lock_folder_is_made_private_to_the_user()
    {
        var lockFile = DockerImportTask.ImportLockFile("app-base:0123abcd", _temporary.Path);

        var folder = Path.GetDirectoryName(lockFile)!;
        StringAssert.StartsWith(folder, _temporary.Path);
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(folder));
        Assert.AreEqual("import-app_base_0123abcd.lock", Path.GetFileName(lockFile));
    }

    [TestMethod]
    public void A_lock_folder_others_may_write_to_is_refused()
    {
        var folder = Path.GetDirectoryName(
            DockerImportTask.ImportLockFile("app-base:1", _temporary.Path))!;
        File.SetUnixFileMode(folder, (UnixFileMode)0b111_111_111);

        var refused = Assert.ThrowsExactly<DtvException>(() =>
            DockerImportTask.ImportLockFile("app-base:1", _temporary.Path));

        Assert.AreEqual("DTV3013", refused.Code);
    }

    [TestMethod]
    public void A_link_in_place_of_the_lock_folder_is_refused()
    {
        var name = Path.GetFileName(Path.GetDirectoryName(
            DockerImportTask.ImportLockFile("app-base:1", _temporary.Path))!);
        Directory.Delete(_temporary.Combine(name));
        var elsewhere = _temporary.CreateFolder("elsewhere");
        File.CreateSymbolicLink(_temporary.Combine(name), elsewhere);

        var refused = Assert.ThrowsExactly<DtvException>(() =>
            DockerImportTask.ImportLockFile("app-base:1", _temporary.Path));

        Assert.AreEqual("DTV3013", refused.Code);
    }
}
