using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Vm;

/// <summary>
/// VmInit=systemd as a user runs it: systemd is PID 1, the app runs as its service with the
/// image's environment, working directory and user, and when it ends its exit code reaches
/// the serial console and the machine powers off by itself (software emulation, with a hard
/// time limit on the boot).
/// </summary>
[TestClass]
public sealed class SystemdVmTests
{
    private const string Program = """
        Console.WriteLine("Hello from systemd: " + Environment.GetEnvironmentVariable("GREETING"));
        Console.WriteLine($"user={Environment.UserName} cwd={Environment.CurrentDirectory}");
        return 3;
        """;

    private const string Project = """
        <PropertyGroup>
          <InvariantGlobalization>true</InvariantGlobalization>
        </PropertyGroup>
        <ItemGroup>
          <ContainerEnvironmentVariable Include="GREETING" Value="one unit" />
        </ItemGroup>
        """;

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_can_boot_a_console_app_VM_with_systemd_as_PID_1()
    {
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program,
            Project);

        var publish = await project.PublishAsync("-p:BuildVmImage=true", "-p:VmInit=systemd");
        Assert.AreEqual(0, publish.ExitCode, publish.Tail);
        var root = Path.Combine(project.Directory,
            "obj/Release/net10.0/linux-x64/dockertovms/vm-root");
        Assert.AreEqual("/usr/lib/systemd/systemd",
            new FileInfo(Path.Combine(root, "init")).LinkTarget);
        var vm = Path.Combine(project.Directory, "bin/Release/net10.0/linux-x64/vm");
        var size = new FileInfo(Path.Combine(vm, "vmlinuz")).Length
            + new FileInfo(Path.Combine(vm, "initramfs.img")).Length;
        Console.WriteLine($"kernel and initramfs with systemd: {size} bytes");

        // The machine must power off by itself well within the limit; VmRun kills and reaps
        // QEMU when it does not.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = await Shell.RunAsync(project.Directory, "dotnet", "msbuild", "-t:VmRun",
            "-nologo", "-p:BuildVmImage=true", "-p:VmInit=systemd",
            "-p:RuntimeIdentifier=linux-x64", "-p:Configuration=Release",
            "-p:VmAccelerator=tcg", "-p:VmRunTimeout=240");
        Console.WriteLine($"VmRun took {clock.Elapsed.TotalSeconds:0.0} s; the console said:");
        foreach (var line in run.Output.Split('\n').Where(l => l.Contains("Hello from")
                     || l.Contains("exited with code") || l.Contains("Power down")))
        {
            Console.WriteLine(line.TrimEnd());
        }

        CollectionAssert.AreEqual(new[] { "DTV5014" }, run.ErrorCodes.ToList(), run.Tail);
        StringAssert.Contains(run.Output, "Hello from systemd: one unit", run.Tail);
        StringAssert.Contains(run.Output, "user=app cwd=/app", run.Tail);
        StringAssert.Contains(run.Output, "dockertovms: app exited with code 3", run.Tail);
        StringAssert.Contains(run.Output, "reboot: Power down", run.Tail);

        var qemu = await Shell.RunAsync(project.Directory, "pgrep", "-f",
            "qemu-system.*" + project.Directory);
        Assert.AreEqual(1, qemu.ExitCode, "a QEMU process was left: " + qemu.Output);
        var mounts = await File.ReadAllTextAsync("/proc/mounts");
        Assert.IsFalse(mounts.Contains(project.Directory, StringComparison.Ordinal), mounts);
    }
}
