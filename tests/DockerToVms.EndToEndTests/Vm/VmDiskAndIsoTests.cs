using System.Diagnostics;
using System.Text;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Vm;

/// <summary>
/// VmImageFormat=disk and iso as a user runs them: the published console app becomes a raw
/// disk (with a qcow2 copy) or a hybrid ISO, and VmRun boots it through the firmware and GRUB
/// (BIOS; the disk's qcow2 copy also through UEFI) under software emulation with a hard time
/// limit. Both formats share one project, so the
/// second publish finds the base, the kernel and the app already built.
/// </summary>
[TestClass]
public sealed class VmDiskAndIsoTests
{
    // QEMU is killed and reaped by VmRun after this many seconds.
    private const int BootLimitSeconds = 90;

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

    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static UserProject? s_project;

    public TestContext TestContext { get; set; } = null!;

    [ClassCleanup]
    public static async Task RemoveProjectAsync()
    {
        if (s_project is not null)
        {
            await s_project.DisposeAsync();
            s_project = null;
        }
    }

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_can_publish_a_console_app_as_a_bootable_disk_and_boot_it()
    {
        var project = await PublishAsync("disk");
        var raw = VmFile(project, "disk.img");
        var qcow = VmFile(project, "disk.qcow2");
        Assert.IsTrue(qcow.Exists, qcow.FullName);
        var qcowInfo = await Shell.CheckAsync(project.Directory, "qemu-img", "info", qcow.FullName);
        StringAssert.Contains(qcowInfo, "file format: qcow2", qcowInfo);

        var seconds = await BootAndCheckAsync(project, "disk");

        // The same machine through UEFI, from the qcow2 copy.
        var uefi = await BootAndCheckAsync(project, "disk", "-p:VmFirmware=uefi",
            "-p:VmImagePath=" + qcow.FullName);

        TestContext.WriteLine($"disk: app output {seconds:0.0} s after QEMU started (BIOS, raw), "
            + $"{uefi:0.0} s (UEFI, qcow2); raw {Megabytes(raw.Length)} MB "
            + $"({Megabytes(await AllocatedAsync(raw))} MB allocated), "
            + $"qcow2 {Megabytes(qcow.Length)} MB");
    }

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_can_publish_a_console_app_as_a_bootable_ISO_and_boot_it()
    {
        var project = await PublishAsync("iso");
        var iso = VmFile(project, project.Name + ".iso");

        var seconds = await BootAndCheckAsync(project, "iso");

        TestContext.WriteLine($"iso: app output {seconds:0.0} s after QEMU started; "
            + $"{Megabytes(iso.Length)} MB");
    }

    private static async Task<UserProject> PublishAsync(string format)
    {
        await s_gate.WaitAsync();
        try
        {
            s_project ??= await UserProject.CreateAsync("Microsoft.NET.Sdk", ConsoleProgram,
                ConsoleProject);
            var publish = await s_project.PublishAsync("-p:BuildVmImage=true",
                "-p:VmImageFormat=" + format);
            Assert.AreEqual(0, publish.ExitCode, publish.Tail);
            return s_project;
        }
        finally
        {
            s_gate.Release();
        }
    }

    // Boots the image with VmRun and checks what every format must show; returns the seconds
    // from QEMU's start to the app's first line.
    private static async Task<double> BootAndCheckAsync(UserProject project, string format,
        params string[] extra)
    {
        var (run, seconds) = await VmRunTimedAsync(project, format, extra);

        // The app's exit code 3 comes back from the VM and fails VmRun, as a failing app does;
        // a machine that did not power off by itself would fail it with DTV5010 instead.
        CollectionAssert.AreEqual(new[] { "DTV5014" }, run.ErrorCodes.ToList(), run.Tail);
        StringAssert.Contains(run.Output, "Hello from a VM: the same recipe", run.Tail);
        StringAssert.Contains(run.Output, "user=app cwd=/app", run.Tail);
        StringAssert.Contains(run.Output, "dockertovms: app exited with code 3", run.Tail);
        StringAssert.Contains(run.Output, "reboot: Power down", run.Tail);
        Assert.IsGreaterThan(0, seconds, run.Tail);
        await VmChecks.AssertNothingLeftAsync(project);
        await VmChecks.AssertSameLaunchAsContainerAsync(project);
        return seconds;
    }

    // VmRun under software emulation, with the time each console line arrived, so the boot
    // can be measured from QEMU's start (the firmware and GRUB included) to the app.
    private static async Task<(CommandResult Run, double Seconds)> VmRunTimedAsync(
        UserProject project, string format, string[] extra)
    {
        var start = new ProcessStartInfo("dotnet",
        [
            "msbuild", "-t:VmRun", "-nologo", "-p:BuildVmImage=true",
            "-p:RuntimeIdentifier=linux-x64", "-p:Configuration=Release",
            "-p:VmImageFormat=" + format, "-p:VmAccelerator=tcg",
            $"-p:VmRunTimeout={BootLimitSeconds}", .. extra,
        ])
        {
            WorkingDirectory = project.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        TimeSpan? booted = null;
        TimeSpan? app = null;
        void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
                if (booted is null && line.Contains("qemu-system-", StringComparison.Ordinal))
                {
                    booted = clock.Elapsed;
                }

                if (app is null && line.Contains("Hello from a VM", StringComparison.Ordinal))
                {
                    app = clock.Elapsed;
                }
            }
        }

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync();
        lock (output)
        {
            var run = new CommandResult("dotnet " + string.Join(' ', start.ArgumentList),
                process.ExitCode, output.ToString());
            return (run, booted is { } b && app is { } a ? (a - b).TotalSeconds : 0);
        }
    }

    private static FileInfo VmFile(UserProject project, string name) =>
        new(Path.Combine(project.Directory, "bin/Release/net10.0/linux-x64/vm", name));

    private static async Task<long> AllocatedAsync(FileInfo file)
    {
        var du = await Shell.CheckAsync("/", "du", "--block-size=1", file.FullName);
        return long.Parse(du.Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Megabytes(long bytes) =>
        (bytes / 1e6).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
}
