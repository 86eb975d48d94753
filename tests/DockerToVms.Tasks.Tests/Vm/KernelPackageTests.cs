using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Tests.Infrastructure;
using DockerToVms.Tasks.Vm;

namespace DockerToVms.Tasks.Tests.Vm;

/// <summary>
/// The VM's kernel comes from the suite's own archive through apt with a state of its own;
/// a suite or architecture without a kernel package and a failing mirror are coded errors,
/// and nothing is left in the cache after a failure.
/// </summary>
[TestClass]
public sealed class KernelPackageTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-kernel-");

    public void Dispose() => _folder.Dispose();

    private static KernelPackage.Source Source(string architecture = "amd64") =>
        new("http://deb.debian.org/debian", "trixie", ["main"], architecture,
            "/usr/share/keyrings/debian-archive-keyring.gpg", AllowUnsigned: false);

    [TestMethod]
    public void The_metapackage_resolves_to_the_versioned_kernel_package()
    {
        const string Record = """
            Package: linux-image-amd64
            Version: 6.12.117-1
            Depends: linux-image-6.12.117+deb13-amd64 (= 6.12.117-1)
            """;

        Assert.AreEqual("linux-image-6.12.117+deb13-amd64",
            KernelPackage.DependencyOf(Record, "linux-image-"));
        Assert.AreEqual("linux-image-arm64", KernelPackage.MetapackageFor("arm64"));
    }

    [TestMethod]
    public async Task An_architecture_without_a_kernel_package_is_refused()
    {
        var runner = new FakeToolRunner();

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            new KernelPackage(runner).GetAsync(_folder.Path, Source("mips64el"),
                CancellationToken.None));

        Assert.AreEqual("DTV5004", error.Code);
        Assert.IsEmpty(runner.Commands);
    }

    [TestMethod]
    public async Task A_suite_without_the_kernel_package_is_refused_and_leaves_no_staging()
    {
        var runner = new FakeToolRunner(c => new ToolResult(
            c.Program == "apt-cache" ? 100 : 0, ["E: No packages found"]));

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            new KernelPackage(runner).GetAsync(_folder.Path, Source(), CancellationToken.None));

        Assert.AreEqual("DTV5004", error.Code);
        Assert.AreEqual("linux-image-amd64", error.Arguments[0]);
        Assert.IsEmpty(Directory.EnumerateFileSystemEntries(_folder.Combine("vm-kernel")));
    }

    [TestMethod]
    public async Task A_failing_mirror_is_reported_with_apt_s_last_lines()
    {
        var runner = new FakeToolRunner(_ => new ToolResult(100, ["E: Failed to fetch"]));

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            new KernelPackage(runner).GetAsync(_folder.Path, Source(), CancellationToken.None));

        Assert.AreEqual("DTV5009", error.Code);
        StringAssert.Contains(error.Message, "E: Failed to fetch");
        var update = runner.Commands.Single();
        CollectionAssert.Contains(update.Arguments.ToList(), "APT::Architecture=amd64");
        CollectionAssert.Contains(update.Arguments.ToList(), "Dir::State::status=/dev/null");
    }

    [TestMethod]
    public async Task A_missing_depmod_names_the_package_to_install()
    {
        var runner = new FakeToolRunner(missing: "depmod");

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            new KernelPackage(runner).GetAsync(_folder.Path, Source(), CancellationToken.None));

        Assert.AreEqual("DTV5013", error.Code);
        Assert.AreEqual("kmod", error.Arguments[1]);
    }

    [TestMethod]
    public async Task A_missing_cross_compiler_names_the_packages_to_install()
    {
        var other = DockerToVms.Tasks.Recipe.DebianArchitecture.Host == "amd64" ? "arm64" : "amd64";
        var runner = new FakeToolRunner(missing: InitCompiler.CompilerFor(other,
            DockerToVms.Tasks.Recipe.DebianArchitecture.Host).Compiler);

        var error = await Assert.ThrowsExactlyAsync<DtvException>(() =>
            new InitCompiler(runner).CompileAsync(_folder.Path, other, CancellationToken.None));

        Assert.AreEqual("DTV5007", error.Code);
        StringAssert.Contains((string)error.Arguments[2]!, "libc6-dev-");
    }
}
