using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Verify;

namespace DockerToVms.Tasks.Tests.Verify;

/// <summary>The user the app runs as must exist in the customised base.</summary>
[TestClass]
public sealed class RootfsAccountsTests : IDisposable
{
    private readonly TemporaryDirectory _root = new("dtv-accounts-");

    public RootfsAccountsTests()
    {
        _root.Write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1654:1654::/home/app:/usr/sbin/nologin\n");
        _root.Write("etc/group", "root:x:0:\napp:x:1654:\n");
    }

    public void Dispose() => _root.Dispose();

    private string CodeFor(string user) =>
        Assert.ThrowsExactly<DtvException>(() => RootfsAccounts.Check(_root.Path, user)).Code;

    [TestMethod]
    [DataRow("app")]
    [DataRow("app:app")]
    [DataRow("1000")]
    [DataRow("1000:2000")]
    [DataRow("root")]
    [DataRow("")]
    public void Existing_names_and_numeric_ids_pass(string user) =>
        RootfsAccounts.Check(_root.Path, user);

    [TestMethod]
    public void A_user_the_base_does_not_have_is_named()
    {
        var error = Assert.ThrowsExactly<DtvException>(
            () => RootfsAccounts.Check(_root.Path, "www-data"));

        Assert.AreEqual("DTV6020", error.Code);
        Assert.AreEqual("www-data", error.Arguments[0]);
    }

    [TestMethod]
    public void A_group_the_base_does_not_have_is_named() =>
        Assert.AreEqual("DTV6021", CodeFor("app:staff"));

    [TestMethod]
    public void Account_files_behind_a_link_are_not_read()
    {
        File.Delete(_root.Combine("etc/passwd"));
        File.CreateSymbolicLink(_root.Combine("etc/passwd"), "/etc/passwd");

        Assert.AreEqual("DTV6020", CodeFor("root"));
    }
}
