namespace DockerToVms.EndToEndTests.Infrastructure;

/// <summary>
/// A project created the way a user creates one, outside the repository, that references the
/// SDK package from the local feed. Its images and folder are removed when disposed; the build
/// logs of a failed test stay in the folder named in the assertion message.
/// </summary>
public sealed class UserProject : IAsyncDisposable
{
    private UserProject(string directory, string name, string repository)
    {
        Directory = directory;
        Name = name;
        Repository = repository;
    }

    /// <summary>The project's folder.</summary>
    public string Directory { get; }

    /// <summary>The project's (and assembly's) name.</summary>
    public string Name { get; }

    /// <summary>The image repository the project publishes to.</summary>
    public string Repository { get; }

    /// <summary>Creates the project with the given SDK, program and extra project XML.</summary>
    public static async Task<UserProject> CreateAsync(string sdk, string program,
        string extraProjectXml = "")
    {
        var feed = await LocalFeed.GetAsync();
        var root = System.IO.Directory.CreateTempSubdirectory("dtv-e2e-").FullName;
        var name = "Hello" + Guid.NewGuid().ToString("N")[..6];
        var directory = Path.Combine(root, name);
        System.IO.Directory.CreateDirectory(directory);

        await WriteNuGetConfigAsync(root, feed);
        var project = new UserProject(directory, name, name.ToLowerInvariant());
        await project.WriteProjectAsync(sdk, extraProjectXml);
        await project.WriteProgramAsync(program);

        // As a user does: add the package, which also restores the project.
        await Shell.CheckAsync(directory, "dotnet", "add", "package", "DockerToVms.Sdk",
            "--version", LocalFeed.Version);
        return project;
    }

    /// <summary>Writes a NuGet.config that finds the local feed first, then nuget.org.</summary>
    public static Task WriteNuGetConfigAsync(string directory, string feed) =>
        File.WriteAllTextAsync(Path.Combine(directory, "NuGet.config"), $"""
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);

    /// <summary>Rewrites the project file.</summary>
    public Task WriteProjectAsync(string sdk, string extraProjectXml)
    {
        var reference = File.Exists(ProjectFile)
            ? $"""<PackageReference Include="DockerToVms.Sdk" Version="{LocalFeed.Version}" />"""
            : string.Empty;
        return File.WriteAllTextAsync(ProjectFile, $"""
            <Project Sdk="{sdk}">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <BaseImageCacheDirectory>{LocalFeed.CacheDirectory}</BaseImageCacheDirectory>
              </PropertyGroup>
              <ItemGroup>{reference}</ItemGroup>
              {extraProjectXml}
            </Project>
            """);
    }

    /// <summary>Rewrites Program.cs.</summary>
    public Task WriteProgramAsync(string program) =>
        File.WriteAllTextAsync(Path.Combine(Directory, "Program.cs"), program);

    /// <summary>The project file's path.</summary>
    public string ProjectFile => Path.Combine(Directory, Name + ".csproj");

    /// <summary>Runs `dotnet publish -r linux-x64 -p:BuildBaseImage=true` with extra arguments.</summary>
    public Task<CommandResult> PublishAsync(params string[] arguments) =>
        Shell.RunAsync(Directory, "dotnet",
            ["publish", "-r", "linux-x64", "-p:BuildBaseImage=true", .. arguments]);

    /// <summary>Runs the image and returns what it printed.</summary>
    public Task<string> RunImageAsync() => Shell.CheckAsync(Directory, "docker", "run", "--rm",
        "--pull", "never", "--network", "none", Repository);

    /// <summary>The value of a Go template over `docker image inspect`.</summary>
    public async Task<string> InspectAsync(string image, string format) =>
        (await Shell.CheckAsync(Directory, "docker", "image", "inspect", "--format", format,
            image)).Trim();

    /// <summary>
    /// Removes every image of the repository and of its base repository. An image with
    /// children cannot go before them, so removal is repeated until none is left.
    /// </summary>
    public static async Task RemoveImagesAsync(string repository)
    {
        // Every image a test made is looked through for what the build machine must not
        // leave in it, before it goes; a finding fails the test once the images are gone.
        var made = await Shell.RunAsync("/", "docker", "images", "-q", "--filter",
            $"reference={repository}*");
        var leaks = await ImageLeaks.FindAsync(
            [.. made.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct()],
            [Path.Combine(Path.GetTempPath(), "dtv-e2e-"), LocalFeed.RepositoryRoot]);
        try
        {
            await RemoveEveryImageAsync(repository);
        }
        finally
        {
            Assert.IsEmpty(leaks, "leaked into the images of " + repository + ":\n"
                + string.Join('\n', leaks));
        }
    }

    private static async Task RemoveEveryImageAsync(string repository)
    {
        for (var pass = 0; pass < 5; pass++)
        {
            var images = await Shell.RunAsync("/", "docker", "images", "-q", "--filter",
                $"reference={repository}*");
            var ids = images.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Distinct().ToArray();
            if (ids.Length == 0)
            {
                return;
            }

            foreach (var id in ids)
            {
                await Shell.RunAsync("/", "docker", "rmi", "-f", id);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await RemoveImagesAsync(Repository);
        System.IO.Directory.Delete(Path.GetDirectoryName(Directory)!, recursive: true);
    }
}
