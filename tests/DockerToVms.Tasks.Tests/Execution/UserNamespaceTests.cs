using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Execution;

/// <summary>
/// How a build tells the machine's own user namespace from the one an ordinary user's build
/// makes, by the uid_map it reads, and how it enters the latter.
/// </summary>
[TestClass]
public sealed class UserNamespaceTests
{
    [TestMethod]
    [DataRow("0 0 4294967295")]
    [DataRow("         0          0 4294967295\n")]
    [DataRow("0  0   4294967295\n\n")]
    [DataRow("\t0\t0\t4294967295\n")]
    public void The_machines_own_namespace_is_not_partial(string uidMap)
    {
        Assert.IsFalse(UserNamespace.IsPartialMap(uidMap));
    }

    [TestMethod]
    [DataRow("         0       1001          1\n         1     100000      65535\n")]
    [DataRow("0 1001 1\n1 100000 65535")]
    [DataRow("0 1001 1\n")]
    [DataRow("0 0 65536\n")]
    public void A_namespace_of_an_ordinary_user_is_partial(string uidMap)
    {
        Assert.IsTrue(UserNamespace.IsPartialMap(uidMap));
    }

    // Kernels without user namespaces have no uid_map; such a machine has only its own.
    [TestMethod]
    public void A_machine_without_a_uid_map_is_not_in_a_namespace()
    {
        Assert.IsFalse(UserNamespace.IsPartialMap(null));
    }

    [TestMethod]
    public void A_step_is_entered_as_the_namespaces_root_with_subordinate_ids()
    {
        var command = UserNamespace.Wrap("rm", ["-rf", "--", "/tmp/root fs"]);

        Assert.AreEqual("unshare", command.Program);
        Expect.Sequence(command.Arguments, "--user", "--map-auto", "--map-root-user", "--",
            "rm", "-rf", "--", "/tmp/root fs");
    }

    [TestMethod]
    [DataRow("         0       1001          1\n         1     100000      65535\n", 1001L)]
    [DataRow("1 100000 65535\n0 1002 1\n", 1002L)]
    public void In_the_namespace_the_building_user_is_the_id_its_root_stands_for(string uidMap,
        long expected)
    {
        Assert.AreEqual(expected, UserNamespace.OutsideIdOfRoot(uidMap));
    }

    [TestMethod]
    [DataRow("0 0 4294967295\n")]
    [DataRow("1 100000 65535\n")]
    [DataRow(null)]
    public void Outside_a_namespace_or_without_a_root_there_is_no_such_id(string? uidMap)
    {
        Assert.IsNull(UserNamespace.OutsideIdOfRoot(uidMap));
    }
}
