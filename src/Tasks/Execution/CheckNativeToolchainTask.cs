namespace DockerToVms.Tasks.Execution;

/// <summary>
/// Checks, before anything is compiled, that a Native AOT publish will find the tools it links
/// with: the C compiler driver (clang, or the alternative the ILCompiler package falls back
/// to) and the linker it is told to use (<c>-fuse-ld=</c>). Without this the publish spends
/// its longest step compiling and then fails at the link.
/// </summary>
public sealed class CheckNativeToolchainTask : AsyncTask
{
    /// <summary>The compiler driver (CppCompilerAndLinker); clang when empty.</summary>
    public string Compiler { get; set; } = string.Empty;

    /// <summary>The driver used when the first is missing (CppCompilerAndLinkerAlternative).</summary>
    public string AlternativeCompiler { get; set; } = string.Empty;

    /// <summary>The linker (LinkerFlavor), such as bfd or lld; empty for the driver's own.</summary>
    public string LinkerFlavor { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        var runner = GetRunner();
        var compiler = Compiler.Length > 0 ? Compiler : "clang";
        if (runner.Find(compiler) is null
            && (AlternativeCompiler.Length == 0 || runner.Find(AlternativeCompiler) is null))
        {
            throw new DtvException("NativeToolchainMissing", AlternativeCompiler.Length == 0
                ? compiler
                : $"{compiler}' or '{AlternativeCompiler}");
        }

        if (LinkerFlavor.Length > 0 && runner.Find("ld." + LinkerFlavor) is null)
        {
            throw new DtvException("NativeToolchainMissing", "ld." + LinkerFlavor);
        }

        return System.Threading.Tasks.Task.CompletedTask;
    }
}
