using System.Security.Cryptography;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// Compiles the tiny init (tiny-init.c, shipped in the task assembly) for the VM's
/// architecture with the build machine's C compiler, statically linked so that it needs
/// nothing of the image, and caches the binary by a digest of the source and architecture.
/// </summary>
public sealed class InitCompiler
{
    private const string SourceResource = "DockerToVms.Tasks.Vm.tiny-init.c";
    private readonly IToolRunner _runner;

    /// <summary>Creates the compiler; gcc runs through the runner.</summary>
    public InitCompiler(IToolRunner runner) => _runner = runner;

    /// <summary>The C compiler driver that builds for the architecture on this machine, with
    /// the Debian packages that provide it.</summary>
    public static (string Compiler, string Packages) CompilerFor(string architecture,
        string hostArchitecture) =>
        architecture == hostArchitecture
            ? ("gcc", "gcc libc6-dev")
            : architecture switch
            {
                "amd64" => ("x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu libc6-dev-amd64-cross"),
                "arm64" => ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu libc6-dev-arm64-cross"),
                "armhf" => ("arm-linux-gnueabihf-gcc",
                    "gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"),
                _ => (DebianArchitecture.ToQemu(architecture) + "-linux-gnu-gcc",
                    "gcc-" + DebianArchitecture.ToQemu(architecture) + "-linux-gnu"),
            };

    /// <summary>The source of the init.</summary>
    public static byte[] Source()
    {
        using var stream = typeof(InitCompiler).Assembly.GetManifestResourceStream(SourceResource)
            ?? throw new InvalidOperationException(SourceResource + " is not in the assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Returns the path of the compiled init, compiling it on a cache miss.</summary>
    public async Task<string> CompileAsync(string cacheDirectory, string architecture,
        CancellationToken cancellation)
    {
        var source = Source();
        var (compiler, packages) = CompilerFor(architecture, DebianArchitecture.Host);
        var target = System.Text.Encoding.UTF8.GetBytes(architecture + "\n" + compiler);
        var digest = Convert.ToHexString(SHA256.HashData([.. source, .. target]))
            .ToLowerInvariant();
        var directory = Path.Combine(cacheDirectory, "vm-init", digest[..16]);
        var binary = Path.Combine(directory, "init");
        if (File.Exists(binary))
        {
            return binary;
        }

        if (_runner.Find(compiler) is null)
        {
            throw new DtvException("VmCompilerMissing", compiler, architecture, packages);
        }

        Directory.CreateDirectory(directory);
        var sourceFile = Path.Combine(directory, "tiny-init.c");
        await File.WriteAllBytesAsync(sourceFile, source, cancellation).ConfigureAwait(false);
        var partial = binary + ".partial-" + Environment.ProcessId;
        var result = await _runner.RunAsync(new ToolCommand(compiler,
            ["-static", "-Os", "-s", "-Wall", "-o", partial, sourceFile]), cancellation)
            .ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            File.Delete(partial);
            throw new DtvException("VmInitCompileFailed", compiler, result.ExitCode, result.Tail);
        }

        File.Move(partial, binary, overwrite: true);
        return binary;
    }
}
