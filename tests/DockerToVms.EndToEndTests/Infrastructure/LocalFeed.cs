namespace DockerToVms.EndToEndTests.Infrastructure;

/// <summary>
/// The SDK package packed from this checkout into a feed of its own, once per test run, under
/// a version no earlier run used, so that NuGet's cache can never hand out an older build.
/// </summary>
public static class LocalFeed
{
    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static string? s_directory;

    /// <summary>The package's version in this run.</summary>
    public static string Version { get; } =
        $"0.1.0-e2e.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    /// <summary>The repository's root directory.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The cache directory the tests' publishes share.</summary>
    public static string CacheDirectory { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("DOCKERTOVMS_TEST_CACHE") ?? "/var/tmp/dockertovms-tests",
        "e2e-cache");

    /// <summary>Packs the SDK (once) and returns the feed's directory.</summary>
    public static async Task<string> GetAsync()
    {
        await s_gate.WaitAsync();
        try
        {
            if (s_directory is null)
            {
                var feed = Directory.CreateTempSubdirectory("dtv-e2e-feed-").FullName;
                await Shell.CheckAsync(RepositoryRoot, "dotnet", "pack",
                    "src/Sdk/DockerToVms.Sdk.csproj", "-c", "Release", "-o", feed,
                    $"-p:DockerToVmsVersion={Version}");
                s_directory = feed;
            }

            return s_directory;
        }
        finally
        {
            s_gate.Release();
        }
    }

    /// <summary>Removes the feed this run packed into.</summary>
    public static void Delete()
    {
        if (s_directory is not null)
        {
            Directory.Delete(s_directory, recursive: true);
            s_directory = null;
        }
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null;
            directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "DockerToVms.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The tests run outside the repository.");
    }
}
