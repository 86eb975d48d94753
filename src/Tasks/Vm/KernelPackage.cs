using System.Security.Cryptography;
using System.Text;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// The suite's own kernel for a VM, fetched from the same archive as the base: apt on the
/// build machine, with state of its own (so neither the machine's package lists nor the
/// image are touched), resolves the kernel metapackage to the versioned package, downloads
/// it and dpkg-deb unpacks it. Only vmlinuz and the few modules a VM needs are kept, in a
/// cache entry per archive and architecture; the container image never holds a kernel.
/// </summary>
public sealed class KernelPackage
{
    private static readonly string[] s_moduleFolders = ["usr/lib/modules", "lib/modules"];
    private readonly IToolRunner _runner;

    /// <summary>Creates the fetcher; commands run through the runner.</summary>
    public KernelPackage(IToolRunner runner) => _runner = runner;

    /// <summary>The archive to fetch from.</summary>
    public sealed record Source(string Mirror, string Suite, IReadOnlyList<string> Components,
        string Architecture, string Keyring, bool AllowUnsigned)
    {
        // Raised when what an entry holds changes, so that older entries are not used.
        private const string Layout = "entry layout 2";

        /// <summary>A digest of everything that decides which kernel is fetched, which of its
        /// modules are kept and how an entry is laid out.</summary>
        public string Digest => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Join('\n', Layout, Mirror, Suite, string.Join(' ', Components), Architecture,
                Keyring, AllowUnsigned, string.Join(' ', ModuleDependencies.Wanted)))))
            .ToLowerInvariant();
    }

    /// <summary>A cache entry: the kernel, its version and the modules to load, in order.</summary>
    /// <param name="Directory">The entry; its <c>root</c> folder holds the modules, laid out
    /// as in a root filesystem.</param>
    /// <param name="KernelPath">The kernel image, vmlinuz.</param>
    /// <param name="Version">The kernel's version, as in /usr/lib/modules.</param>
    /// <param name="LoadOrder">The modules' paths in the VM, dependencies first.</param>
    public sealed record Entry(string Directory, string KernelPath, string Version,
        IReadOnlyList<string> LoadOrder)
    {
        /// <summary>The folder to copy over a VM's root: <c>usr/lib/modules/VERSION</c>.</summary>
        public string RootDirectory => Path.Combine(Directory, "root");
    }

    /// <summary>The metapackage that follows a suite's current kernel, per architecture.</summary>
    public static string? MetapackageFor(string architecture) => architecture switch
    {
        "amd64" => "linux-image-amd64",
        "arm64" => "linux-image-arm64",
        "armhf" => "linux-image-armmp",
        "i386" => "linux-image-686",
        "ppc64el" => "linux-image-powerpc64le",
        "riscv64" => "linux-image-riscv64",
        "s390x" => "linux-image-s390x",
        _ => null,
    };

    /// <summary>Returns the cached entry for the source, fetching it first when missing.</summary>
    public async Task<Entry> GetAsync(string cacheDirectory, Source source,
        CancellationToken cancellation)
    {
        var entry = Path.Combine(cacheDirectory, "vm-kernel", source.Digest[..16]);
        if (Read(entry) is { } cached)
        {
            return cached;
        }

        var metapackage = MetapackageFor(source.Architecture)
            ?? throw new DtvException("VmKernelPackageMissing", "linux-image-*",
                source.Suite, source.Architecture);
        foreach (var tool in new[] { "apt-get", "apt-cache", "dpkg-deb", "depmod", "env" })
        {
            if (_runner.Find(tool) is null)
            {
                throw new DtvException("VmKernelToolMissing", tool, tool == "depmod" ? "kmod" : "apt");
            }
        }

        var staging = entry + ".staging-" + Environment.ProcessId;
        DeleteDirectory(staging);
        try
        {
            var apt = Apt.Prepare(Path.Combine(staging, "apt"), source);
            await RunAsync(apt.Command("apt-get", "update"), "apt-get update", cancellation)
                .ConfigureAwait(false);

            var package = await ResolveAsync(apt, metapackage, source, cancellation)
                .ConfigureAwait(false);
            var download = Path.Combine(staging, "download");
            Directory.CreateDirectory(download);
            await RunAsync(new ToolCommand("env",
                    ["-C", download, .. apt.Command("apt-get", "download", package).Arguments
                        .Prepend("apt-get")]),
                "apt-get download " + package, cancellation).ConfigureAwait(false);

            var extracted = Path.Combine(staging, "extracted");
            var deb = Directory.GetFiles(download, "*.deb").Single();
            await RunAsync(new ToolCommand("dpkg-deb", ["-x", deb, extracted]), "dpkg-deb",
                cancellation).ConfigureAwait(false);
            await KeepWhatAVmNeedsAsync(extracted, staging, cancellation).ConfigureAwait(false);

            DeleteDirectory(Path.Combine(staging, "apt"));
            DeleteDirectory(download);
            DeleteDirectory(extracted);
            try
            {
                Directory.Move(staging, entry);
            }
            catch (IOException) when (Read(entry) is not null)
            {
                // Another build finished the same entry first; its copy is as good.
                DeleteDirectory(staging);
            }

            return Read(entry) ?? throw new IOException("The kernel entry " + entry
                + " is incomplete after it was written.");
        }
        catch
        {
            DeleteDirectory(staging);
            throw;
        }
    }

    private async Task<string> ResolveAsync(Apt apt, string metapackage, Source source,
        CancellationToken cancellation)
    {
        // The metapackage depends on the versioned kernel package of the suite.
        var output = new StringBuilder();
        var result = await _runner.RunPipedAsync(
            apt.Command("apt-cache", "show", "--no-all-versions", metapackage),
            async (stream, token) =>
            {
                using var reader = new StreamReader(stream);
                output.Append(await reader.ReadToEndAsync(token).ConfigureAwait(false));
            },
            cancellation).ConfigureAwait(false);
        var dependency = result.ExitCode == 0
            ? DependencyOf(output.ToString(), "linux-image-")
            : null;
        return dependency ?? throw new DtvException("VmKernelPackageMissing", metapackage,
            source.Suite, source.Architecture);
    }

    /// <summary>The first dependency named with the prefix in an apt-cache show record.</summary>
    public static string? DependencyOf(string record, string prefix)
    {
        var depends = record.Split('\n')
            .FirstOrDefault(l => l.StartsWith("Depends:", StringComparison.Ordinal));
        return depends?["Depends:".Length..]
            .Split([',', '|'], StringSplitOptions.RemoveEmptyEntries)
            .Select(d => d.Trim().Split(' ', '(')[0])
            .FirstOrDefault(d => d.StartsWith(prefix, StringComparison.Ordinal));
    }

    private async Task KeepWhatAVmNeedsAsync(string extracted, string staging,
        CancellationToken cancellation)
    {
        var kernel = Directory.GetFiles(Path.Combine(extracted, "boot"), "vmlinu*").Single();
        var version = Path.GetFileName(kernel)[(Path.GetFileName(kernel).IndexOf('-') + 1)..];
        var modules = s_moduleFolders
            .Select(m => Path.Combine(extracted, m, version))
            .First(Directory.Exists);

        // depmod looks in BASE/lib/modules; packages of merged-/usr suites ship usr/lib.
        await DepmodAsync(extracted, version, cancellation).ConfigureAwait(false);
        var dependencies = ModuleDependencies.Parse(
            File.ReadLines(Path.Combine(modules, "modules.dep")));
        var order = dependencies.LoadOrder(ModuleDependencies.Wanted);

        var kept = Path.Combine(staging, "root", "usr", "lib", "modules", version);
        foreach (var file in order.Concat(["modules.builtin", "modules.builtin.modinfo",
                     "modules.order"]))
        {
            var source = Path.Combine(modules, file);
            if (File.Exists(source))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(kept, file))!);
                File.Copy(source, Path.Combine(kept, file));
            }
        }

        await DepmodAsync(Path.Combine(staging, "root"), version, cancellation)
            .ConfigureAwait(false);
        File.Copy(kernel, Path.Combine(staging, "vmlinuz"));
        await File.WriteAllLinesAsync(Path.Combine(staging, "load-order"),
            dependencies.LoadOrder(ModuleDependencies.LoadedByInit)
                .Select(m => $"/usr/lib/modules/{version}/{m}"), cancellation)
            .ConfigureAwait(false);

        // Written last: an entry with a version file is complete.
        await File.WriteAllTextAsync(Path.Combine(staging, "version"), version, cancellation)
            .ConfigureAwait(false);
    }

    private async Task DepmodAsync(string baseDirectory, string version,
        CancellationToken cancellation)
    {
        var link = Path.Combine(baseDirectory, "lib");
        var made = !Directory.Exists(link) && !File.Exists(link);
        if (made)
        {
            File.CreateSymbolicLink(link, "usr/lib");
        }

        try
        {
            await RunAsync(new ToolCommand("depmod", ["-b", baseDirectory, version]), "depmod",
                cancellation).ConfigureAwait(false);
        }
        finally
        {
            if (made)
            {
                File.Delete(link);
            }
        }
    }

    private static Entry? Read(string directory)
    {
        var version = Path.Combine(directory, "version");
        return File.Exists(version)
            ? new Entry(directory, Path.Combine(directory, "vmlinuz"),
                File.ReadAllText(version).Trim(),
                File.ReadAllLines(Path.Combine(directory, "load-order")))
            : null;
    }

    private async Task RunAsync(ToolCommand command, string what, CancellationToken cancellation)
    {
        var result = await _runner.RunAsync(command, cancellation).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new DtvException("VmKernelFetchFailed", what, result.ExitCode, result.Tail);
        }
    }

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>apt with a state, cache and source list of its own under one directory.</summary>
    private sealed class Apt
    {
        private readonly List<string> _options;

        private Apt(List<string> options) => _options = options;

        public static Apt Prepare(string directory, Source source)
        {
            foreach (var folder in new[] { "lists/partial", "archives/partial", "etc/parts" })
            {
                Directory.CreateDirectory(Path.Combine(directory, folder));
            }

            var trust = source.AllowUnsigned ? "trusted=yes" : "signed-by=" + source.Keyring;
            File.WriteAllText(Path.Combine(directory, "etc", "sources.list"),
                $"deb [{trust}] {source.Mirror} {source.Suite} "
                + string.Join(' ', source.Components) + "\n");
            return new Apt(
            [
                "-o", "Dir::State=" + directory,
                "-o", "Dir::State::Lists=" + Path.Combine(directory, "lists"),
                "-o", "Dir::State::status=/dev/null",
                "-o", "Dir::Cache=" + directory,
                "-o", "Dir::Cache::Archives=" + Path.Combine(directory, "archives"),
                "-o", "Dir::Etc::SourceList=" + Path.Combine(directory, "etc", "sources.list"),
                "-o", "Dir::Etc::SourceParts=" + Path.Combine(directory, "etc", "parts"),
                "-o", "APT::Architecture=" + source.Architecture,
                "-o", "APT::Architectures=" + source.Architecture,
                "-o", "Acquire::Languages=none",
                "-o", "Debug::NoLocking=1",
                "-o", "APT::Sandbox::User=root",
                "-q",
            ]);
        }

        public ToolCommand Command(string program, params string[] arguments) =>
            new(program, [.. _options, .. arguments]);
    }
}
