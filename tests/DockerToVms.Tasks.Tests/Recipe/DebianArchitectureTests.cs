using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Tests.Recipe;

[TestClass]
public sealed class DebianArchitectureTests
{
    [TestMethod]
    [DataRow("linux-x64", "amd64")]
    [DataRow("linux-arm64", "arm64")]
    [DataRow("linux-arm", "armhf")]
    public void Apps_for_linux_glibc_runtimes_get_a_Debian_architecture(string rid, string arch)
    {
        Assert.AreEqual(arch, DebianArchitecture.FromRuntimeIdentifier(rid));
        Assert.AreEqual(arch, RecipeValidation.RuntimeIdentifier(rid));
    }

    [TestMethod]
    [DataRow("win-x64")]
    [DataRow("osx-arm64")]
    [DataRow("linux-musl-x64")]
    [DataRow("")]
    public void Apps_for_other_runtimes_are_refused(string rid)
    {
        Assert.IsNull(DebianArchitecture.FromRuntimeIdentifier(rid));

        var error = Assert.ThrowsExactly<DtvException>(
            () => RecipeValidation.RuntimeIdentifier(rid));

        Assert.AreEqual("DTV9002", error.Code);
        Assert.AreEqual(rid, error.Arguments[0]);
    }

    [TestMethod]
    public void Every_supported_runtime_maps_to_a_known_Debian_architecture()
    {
        foreach (var rid in DebianArchitecture.SupportedRuntimeIdentifiers)
        {
            CollectionAssert.Contains(DebianArchitecture.Known.ToList(),
                DebianArchitecture.FromRuntimeIdentifier(rid), rid);
        }
    }

    [TestMethod]
    [DataRow("amd64", "amd64", null)]
    [DataRow("arm64", "arm64", "v8")]
    [DataRow("armhf", "arm", "v7")]
    [DataRow("armel", "arm", "v5")]
    [DataRow("i386", "386", null)]
    [DataRow("ppc64el", "ppc64le", null)]
    public void Docker_platforms_follow_the_Debian_architecture(string debian, string docker,
        string? variant)
    {
        Assert.AreEqual((docker, variant), DebianArchitecture.ToDocker(debian));
    }
}
