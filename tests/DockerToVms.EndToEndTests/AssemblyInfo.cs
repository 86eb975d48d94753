// Each class publishes its own projects; two at a time is what the CI machine's cores allow.
[assembly: Parallelize(Workers = 2, Scope = ExecutionScope.ClassLevel)]

namespace DockerToVms.EndToEndTests;

[TestClass]
public static class Run
{
    [AssemblyCleanup]
    public static void RemoveFeed() => Infrastructure.LocalFeed.Delete();
}
