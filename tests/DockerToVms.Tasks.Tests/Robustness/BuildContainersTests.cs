using System.Globalization;
using DockerToVms.Tasks.Docker;

namespace DockerToVms.Tasks.Tests.Robustness;

/// <summary>Which build containers a later build may remove: only those a killed build left.</summary>
[TestClass]
public sealed class BuildContainersTests
{
    private static string Machine => string.Concat(Environment.MachineName
        .Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));

    // A process id above the kernel's limit never belongs to a running process.
    private static int DeadProcessId() =>
        int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max").Trim(),
            CultureInfo.InvariantCulture) + 1;

    [TestMethod]
    public void A_container_of_this_running_build_is_kept()
    {
        Assert.IsFalse(BuildContainers.IsOrphan(BuildContainers.NewName()));
    }

    [TestMethod]
    public void A_container_of_a_build_that_ended_is_an_orphan()
    {
        var name = $"{BuildContainers.Prefix}{Machine}.{DeadProcessId()}.12345-0123abcd";

        Assert.IsTrue(BuildContainers.IsOrphan(name));
    }

    [TestMethod]
    public void A_container_whose_process_id_now_belongs_to_another_process_is_an_orphan()
    {
        var name = $"{BuildContainers.Prefix}{Machine}.{Environment.ProcessId}.1-0123abcd";

        Assert.IsTrue(BuildContainers.IsOrphan(name));
    }

    [TestMethod]
    [DataRow("dockertovms-build-another_machine.1.1-0123abcd")]
    [DataRow("my-own-container")]
    [DataRow("dockertovms-build-garbled")]
    public void Containers_of_other_machines_or_not_made_by_a_build_are_kept(string name)
    {
        Assert.IsFalse(BuildContainers.IsOrphan(name));
    }
}
