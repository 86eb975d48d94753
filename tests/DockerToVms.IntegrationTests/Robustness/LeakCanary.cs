using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.IntegrationTests.Robustness;

/// <summary>
/// Puts the canary into this process's environment before any task runs, so that the images
/// the tests build can be checked for it (see <see cref="ImageLeaks"/>).
/// </summary>
[TestClass]
public static class LeakCanary
{
    [AssemblyInitialize]
    public static void Install(TestContext context) => Assert.IsNotEmpty(BuildCanary.Value);
}
