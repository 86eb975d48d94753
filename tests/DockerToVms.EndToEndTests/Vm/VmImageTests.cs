using System.Net;
using System.Net.Sockets;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Vm;

/// <summary>
/// BuildVmImage=true as a user runs it: the published app becomes a VM image next to the
/// publish output, VmRun boots it in QEMU (software emulation here, each boot with a hard
/// time limit), the app's output and exit code reach the console, a web app answers through
/// the forwarded port, and no QEMU process or mount stays behind.
/// </summary>
[TestClass]
public sealed class VmImageTests
{
    private const string VmRunTimeout = "-p:VmRunTimeout=150";

    private const string ConsoleProgram = """
        Console.WriteLine("Hello from a VM: " + Environment.GetEnvironmentVariable("GREETING"));
        Console.WriteLine($"user={Environment.UserName} cwd={Environment.CurrentDirectory}");
        return 3;
        """;

    private const string ConsoleProject = """
        <PropertyGroup>
          <InvariantGlobalization>true</InvariantGlobalization>
        </PropertyGroup>
        <ItemGroup>
          <ContainerEnvironmentVariable Include="GREETING" Value="the same recipe" />
        </ItemGroup>
        """;

    // The app stops itself after its first answer, so the VM powers off on its own.
    private const string WebProgram = """
        var app = WebApplication.Create(args);
        app.MapGet("/", (IHostApplicationLifetime lifetime) =>
        {
            lifetime.StopApplication();
            return "hello from the VM";
        });
        app.Run();
        """;

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_can_publish_a_console_app_as_a_VM_and_boot_it_with_the_image_s_command()
    {
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk",
            ConsoleProgram, ConsoleProject);

        var publish = await project.PublishAsync("-p:BuildVmImage=true");
        Assert.AreEqual(0, publish.ExitCode, publish.Tail);
        var vm = Path.Combine(project.Directory, "bin/Release/net10.0/linux-x64/vm");
        var size = new FileInfo(Path.Combine(vm, "vmlinuz")).Length
            + new FileInfo(Path.Combine(vm, "initramfs.img")).Length;
        Assert.IsLessThanOrEqualTo(64L * 1000 * 1000, size, "kernel and initramfs: " + size);

        var run = await VmRunAsync(project);

        // The app's exit code 3 comes back from the VM and fails VmRun, as a failing app does.
        Expect(run, "DTV5014");
        StringAssert.Contains(run.Output, "Hello from a VM: the same recipe", run.Tail);
        StringAssert.Contains(run.Output, "user=app cwd=/app", run.Tail);
        StringAssert.Contains(run.Output, "dockertovms: app exited with code 3", run.Tail);
        StringAssert.Contains(run.Output, "reboot: Power down", run.Tail);
        await VmChecks.AssertNothingLeftAsync(project);
        await VmChecks.AssertSameLaunchAsContainerAsync(project);
    }

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_can_boot_a_web_app_VM_and_reach_it_through_the_forwarded_port()
    {
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk.Web",
            WebProgram);
        var publish = await project.PublishAsync("-p:BuildVmImage=true");
        Assert.AreEqual(0, publish.ExitCode, publish.Tail);

        var port = FreePort();
        var running = VmRunAsync(project, $"-p:VmHostPort={port}");
        using var http = new HttpClient
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(10),
        };
        string? answer = null;
        while (answer is null && !running.IsCompleted)
        {
            try
            {
                answer = await http.GetStringAsync("/");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }

        var run = await running;
        Assert.AreEqual("hello from the VM", answer, run.Tail);
        Expect(run);
        StringAssert.Contains(run.Output, "dockertovms: app exited with code 0", run.Tail);
        await VmChecks.AssertNothingLeftAsync(project);
    }

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public async Task A_wrong_VM_setting_stops_the_build_before_anything_is_built()
    {
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk",
            ConsoleProgram, ConsoleProject);

        foreach (var (setting, code) in new[]
                 {
                     ("-p:VmInit=openrc", "DTV5002"),
                     ("-p:VmImageFormat=vmdk", "DTV5001"),
                     ("-p:VmMemoryMegabytes=lots", "DTV5011"),
                 })
        {
            var build = await Shell.RunAsync(project.Directory, "dotnet", "build", "-r",
                "linux-x64", "-p:BuildVmImage=true", setting);
            Expect(build, code);
            Assert.IsFalse(build.Output.Contains("debootstrap", StringComparison.Ordinal),
                build.Tail);
        }
    }

    private static Task<CommandResult> VmRunAsync(UserProject project, params string[] extra) =>
        Shell.RunAsync(project.Directory, "dotnet",
        [
            "msbuild", "-t:VmRun", "-nologo", "-p:BuildVmImage=true",
            "-p:RuntimeIdentifier=linux-x64", "-p:Configuration=Release", VmRunTimeout, .. extra,
        ]);

    private static void Expect(CommandResult run, params string[] codes) =>
        CollectionAssert.AreEqual(codes, run.ErrorCodes.ToList(), run.Tail);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
