namespace DockerToVms.Tasks.Tests.Infrastructure;

/// <summary>Assertions on sequences, with the actual values in the failure message.</summary>
internal static class Expect
{
    /// <summary>Asserts that the task logged exactly these error codes, in order.</summary>
    public static void Codes(RecordingBuildEngine engine, params string[] codes) =>
        CollectionAssert.AreEqual(codes, engine.ErrorCodes.ToList(), engine.Log);

    /// <summary>Asserts that the values are exactly the expected ones, in order.</summary>
    public static void Sequence<T>(IEnumerable<T> actual, params T[] expected)
    {
        var values = actual.ToList();
        CollectionAssert.AreEqual(expected, values, "actual: " + string.Join(" | ", values));
    }
}
