using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Finds kernel modules in a root filesystem's /lib/modules/&lt;version&gt;/ and orders them so
/// that each comes after the modules it depends on. Dependencies are read from each module
/// with modinfo, so modules.dep (written by depmod) need not exist.
/// </summary>
internal sealed class KernelModules
{
    private static readonly string[] s_moduleFolders = ["usr/lib/modules", "lib/modules"];

    private readonly Dictionary<string, string> _files;
    private readonly HashSet<string> _builtIn;

    private KernelModules(string directory, Dictionary<string, string> files,
        HashSet<string> builtIn)
    {
        Directory = directory;
        _files = files;
        _builtIn = builtIn;
    }

    /// <summary>The /lib/modules/&lt;version&gt; directory on the build machine.</summary>
    public string Directory { get; }

    /// <summary>Indexes the modules of the one kernel version the root filesystem holds.</summary>
    public static KernelModules Open(string rootDirectory)
    {
        // usr-merged roots have /lib as a relative link to usr/lib; both spellings are tried.
        var versions = s_moduleFolders
            .Select(p => Path.Combine(rootDirectory, p))
            .Where(System.IO.Directory.Exists)
            .Take(1)
            .SelectMany(System.IO.Directory.EnumerateDirectories)
            .Where(d => System.IO.Directory.Exists(Path.Combine(d, "kernel")))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (versions.Count != 1)
        {
            throw new DtvException("VmKernelModulesMissing", rootDirectory, versions.Count,
                string.Join(", ", versions.Select(Path.GetFileName)));
        }

        var directory = versions[0];
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in System.IO.Directory.EnumerateFiles(Path.Combine(directory, "kernel"),
            "*.ko*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            files.TryAdd(ModuleDependencies.NameOf(file), file);
        }

        var builtInList = Path.Combine(directory, "modules.builtin");
        var builtIn = File.Exists(builtInList)
            ? File.ReadLines(builtInList).Select(ModuleDependencies.NameOf).ToHashSet(StringComparer.Ordinal)
            : [];
        return new KernelModules(directory, files, builtIn);
    }

    /// <summary>
    /// The module files to load, dependencies first. A required module that is neither a
    /// file nor built into the kernel is an error; an optional one is left out.
    /// </summary>
    public async Task<IReadOnlyList<string>> ResolveAsync(IToolRunner runner,
        IEnumerable<string> required, IEnumerable<string> optional, string image,
        CancellationToken cancellation)
    {
        var ordered = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);

        async Task AddAsync(string name, bool mandatory)
        {
            name = name.Replace('-', '_');
            if (!seen.Add(name) || _builtIn.Contains(name))
            {
                return;
            }

            if (!_files.TryGetValue(name, out var file))
            {
                if (mandatory)
                {
                    throw new DtvException("VmKernelModuleMissing", name, image, Directory);
                }

                return;
            }

            foreach (var dependency in await DependenciesAsync(runner, file, image, cancellation)
                .ConfigureAwait(false))
            {
                await AddAsync(dependency, mandatory: true).ConfigureAwait(false);
            }

            ordered.Add(file);
        }

        foreach (var name in required)
        {
            await AddAsync(name, mandatory: true).ConfigureAwait(false);
        }

        foreach (var name in optional)
        {
            await AddAsync(name, mandatory: false).ConfigureAwait(false);
        }

        return ordered;
    }

    private static async Task<IEnumerable<string>> DependenciesAsync(IToolRunner runner,
        string file, string image, CancellationToken cancellation)
    {
        var result = await VmTools.RunAsync(runner,
            new ToolCommand("modinfo", ["-F", "depends", file]), image, cancellation)
            .ConfigureAwait(false);
        return result.LastLines
            .SelectMany(l => l.Split(',', StringSplitOptions.RemoveEmptyEntries
                | StringSplitOptions.TrimEntries));
    }
}
