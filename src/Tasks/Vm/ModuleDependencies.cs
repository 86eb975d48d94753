namespace DockerToVms.Tasks.Vm;

/// <summary>
/// The kernel modules a VM loads at boot, from the kernel's <c>modules.dep</c> (as depmod
/// writes it): each wanted module with the modules it needs, in an order that loads every
/// module after those it depends on. Modules built into the kernel are not loaded.
/// </summary>
public sealed class ModuleDependencies
{
    /// <summary>
    /// The modules a VM may need, when they are modules of the distribution's kernel: the
    /// network, the console and entropy of QEMU's virtio devices, and what the first stage of
    /// the disk and ISO formats loads to reach the root (see <see cref="Stage1Initramfs"/>).
    /// </summary>
    public static readonly IReadOnlyList<string> Wanted =
    [
        "virtio_net", "virtio_console", "virtio_rng", "af_packet",
        .. Stage1Initramfs.ControllerModules, .. Stage1Initramfs.DiskModules,
        .. Stage1Initramfs.IsoModules,
    ];

    /// <summary>
    /// The modules the init itself loads: the network. The storage and file system modules
    /// are kept in the root for the first stage of the disk and ISO formats, which loads
    /// them before it finds the root; an initramfs needs none of them, and each module
    /// costs boot time under emulation.
    /// </summary>
    public static readonly IReadOnlyList<string> LoadedByInit = ["virtio_net"];

    private readonly Dictionary<string, (string Path, List<string> Dependencies)> _modules;

    private ModuleDependencies(Dictionary<string, (string, List<string>)> modules) =>
        _modules = modules;

    /// <summary>Reads modules.dep's lines: <c>path: dependency-path ...</c>.</summary>
    public static ModuleDependencies Parse(IEnumerable<string> modulesDep)
    {
        var modules = new Dictionary<string, (string, List<string>)>(StringComparer.Ordinal);
        foreach (var line in modulesDep)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var path = line[..colon].Trim();
            var dependencies = line[(colon + 1)..]
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(NameOf)
                .ToList();
            modules[NameOf(path)] = (path, dependencies);
        }

        return new ModuleDependencies(modules);
    }

    /// <summary>
    /// The name of a module as modprobe knows it: the file name without .ko and any
    /// compression suffix, with '-' read as '_'.
    /// </summary>
    public static string NameOf(string path)
    {
        var name = Path.GetFileName(path.Trim());
        var ko = name.IndexOf(".ko", StringComparison.Ordinal);
        return (ko < 0 ? name : name[..ko]).Replace('-', '_');
    }

    /// <summary>
    /// The paths (relative to the kernel's module folder) of the wanted modules and all they
    /// depend on, dependencies first. A wanted module the kernel does not have as a module
    /// is built in, or not needed, and is left out.
    /// </summary>
    public IReadOnlyList<string> LoadOrder(IEnumerable<string> wanted)
    {
        var order = new List<string>();
        var visited = new HashSet<string>(StringComparer.Ordinal);

        void Visit(string name)
        {
            if (!_modules.TryGetValue(name, out var module) || !visited.Add(name))
            {
                return;
            }

            foreach (var dependency in module.Dependencies)
            {
                Visit(dependency);
            }

            order.Add(module.Path);
        }

        foreach (var name in wanted)
        {
            Visit(name.Replace('-', '_'));
        }

        return order;
    }
}
