namespace DockerToVms.Tasks.Tests.Infrastructure;

/// <summary>A directory of its own for one test, deleted with all it holds afterwards.</summary>
internal sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory(string prefix = "dtv-test-") =>
        Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    /// <summary>The full path of a relative path inside the directory.</summary>
    public string Combine(string relative) => System.IO.Path.Combine(Path, relative);

    /// <summary>Writes a file, creating its folders, and returns its full path.</summary>
    public string Write(string relative, string content)
    {
        var path = Combine(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Writes a file of zeros of the given size, creating its folders.</summary>
    public string WriteBytes(string relative, int size)
    {
        var path = Combine(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, new byte[size]);
        return path;
    }

    /// <summary>Creates a folder and returns its full path.</summary>
    public string CreateFolder(string relative) =>
        Directory.CreateDirectory(Combine(relative)).FullName;

    // Directory.Delete removes symbolic links without following them.
    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
