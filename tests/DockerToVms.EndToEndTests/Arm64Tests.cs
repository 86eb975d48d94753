using System.Text.RegularExpressions;
using DockerToVms.EndToEndTests.Infrastructure;
using DockerToVms.IntegrationTests.Infrastructure;

namespace DockerToVms.EndToEndTests;

/// <summary>
/// An app published for arm64 on an amd64 machine: the base is bootstrapped in two stages
/// under QEMU, loaded into Docker as an arm64 image, and the app image runs under emulation.
/// One cold publish serves every test of the class, since emulation makes it slow. While the
/// class runs it holds the machine's binfmt_misc lock, and at the end it leaves binfmt_misc
/// as it found it.
/// </summary>
[TestClass]
public sealed class Arm64Tests
{
    private const string BinfmtDirectory = "/proc/sys/fs/binfmt_misc";
    private const string EntryName = "qemu-aarch64";
    private const string PackageRegistration = "/usr/lib/binfmt.d/qemu-aarch64.conf";

    // The app reports the processor it sees through uname(2), which QEMU answers as an
    // arm64 kernel would, and the kernel release, which is the build machine's own.
    private const string Program = """
        using System.Runtime.InteropServices;

        Console.WriteLine("Hello from an arm64 base of my own");
        Console.WriteLine($"OS architecture: {RuntimeInformation.OSArchitecture}");
        Console.WriteLine($"uname -m: {Machine()}");
        Console.WriteLine($"kernel: {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}");

        static string Machine()
        {
            // struct utsname: six fields of 65 bytes; the machine is the fifth.
            var fields = new byte[6 * 65];
            return Uname(fields) == 0
                ? System.Text.Encoding.ASCII.GetString(fields, 4 * 65, 65).TrimEnd('\0')
                : "unknown";
        }

        [DllImport("libc.so.6", EntryPoint = "uname")]
        static extern int Uname(byte[] fields);
        """;

    // A check that runs inside the arm64 chroot as a user without rights: a set-user-ID copy
    // of id reports the effective uid it got, 0 when binfmt_misc hands the program's own
    // credentials to QEMU (flag C). Written as XML attribute text, on one line for the shell.
    private const string SetuidCheck = "cp /usr/bin/id /usr/local/bin/id-setuid"
        + " &amp;&amp; chmod 4755 /usr/local/bin/id-setuid"
        + " &amp;&amp; chroot --userspec=65534:65534 / /usr/local/bin/id-setuid -u"
        + " &gt; /etc/dtv-setuid-euid; rm -f /usr/local/bin/id-setuid";

    // A lean recipe, without apt-get under emulation: minbase has what this app needs.
    private const string ProjectXml = $"""
        <PropertyGroup>
          <InvariantGlobalization>true</InvariantGlobalization>
          <BaseImageIncludeDotNetDependencies>false</BaseImageIncludeDotNetDependencies>
          <BaseImageBootstrapper>debootstrap</BaseImageBootstrapper>
        </PropertyGroup>
        <ItemGroup>
          <BaseImageRun Include="setuid-check" Command="{SetuidCheck}" />
        </ItemGroup>
        """;

    private static MachineLock? s_lock;
    private static bool s_wasMounted;
    private static string? s_entryBefore;
    private static UserProject? s_project;
    private static CommandResult? s_publish;

    [ClassInitialize]
    public static async Task PublishOnce(TestContext context)
    {
        if (Environment.UserName != "root" || System.Runtime.InteropServices.RuntimeInformation
            .OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            Assert.Inconclusive("Needs root on an amd64 machine.");
        }

        if (!File.Exists("/usr/bin/qemu-aarch64-static"))
        {
            Assert.Inconclusive("apt-get install qemu-user-static");
        }

        s_lock = MachineLock.Acquire(MachineLock.Binfmt, TimeSpan.FromMinutes(30));
        s_wasMounted = File.Exists(Path.Combine(BinfmtDirectory, "register"));
        s_entryBefore = ReadEntry();

        s_project = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program, ProjectXml);
        s_publish = await Shell.RunAsync(s_project.Directory, "dotnet", "publish", "-r",
            "linux-arm64", "-p:BuildBaseImage=true");
        Assert.AreEqual(0, s_publish.ExitCode, s_publish.Tail);

        // A base found in the cache is not bootstrapped, and nothing is registered; the
        // image still needs emulation to run here.
        if (ReadEntry() is null && File.Exists(PackageRegistration))
        {
            if (!File.Exists(Path.Combine(BinfmtDirectory, "register")))
            {
                await Shell.CheckAsync("/", "mount", "-t", "binfmt_misc", "binfmt_misc",
                    BinfmtDirectory);
            }

            await File.WriteAllTextAsync(Path.Combine(BinfmtDirectory, "register"),
                (await File.ReadAllTextAsync(PackageRegistration)).Trim());
        }
    }

    [ClassCleanup]
    public static async Task RestoreMachine()
    {
        try
        {
            if (s_project is not null)
            {
                await s_project.DisposeAsync();
            }
        }
        finally
        {
            using var held = s_lock;
            if (s_lock is not null)
            {
                RestoreBinfmt();
            }
        }
    }

    [TestMethod]
    public async Task I_can_publish_for_arm64_and_run_the_image_under_emulation()
    {
        var output = await RunAsync();

        StringAssert.Contains(output, "Hello from an arm64 base of my own");
        StringAssert.Contains(output, "OS architecture: Arm64");
        StringAssert.Contains(output, "uname -m: aarch64");
        StringAssert.Contains(output, "kernel: " + File.ReadAllText(
            "/proc/sys/kernel/osrelease").Trim(), "the build machine's kernel, emulated");
    }

    [TestMethod]
    public async Task The_base_and_app_images_say_arm64_v8()
    {
        var baseImage = BaseImage();

        Assert.AreEqual("arm64 v8 linux", await s_project!.InspectAsync(baseImage,
            "{{.Architecture}} {{.Variant}} {{.Os}}"));
        Assert.AreEqual("arm64 v8 linux", await s_project.InspectAsync(s_project.Repository,
            "{{.Architecture}} {{.Variant}} {{.Os}}"));
    }

    [TestMethod]
    public void The_base_was_bootstrapped_in_two_stages_under_emulation()
    {
        if (!s_publish!.Output.Contains("bootstrap took", StringComparison.Ordinal))
        {
            Assert.Inconclusive("The base came from the cache of an earlier run.");
        }

        StringAssert.Contains(s_publish.Output, "--foreign", s_publish.Tail);
        StringAssert.Contains(s_publish.Output, "uname -m: aarch64", s_publish.Tail);
        StringAssert.Contains(s_publish.Output, "/debootstrap/debootstrap --second-stage",
            s_publish.Tail);
    }

    [TestMethod]
    public void A_set_user_id_program_gets_its_owner_rights_in_the_arm64_chroot()
    {
        var entry = Regex.Match(s_publish!.Output, @"cache entry (/\S+)\.\r?$",
            RegexOptions.Multiline);
        Assert.IsTrue(entry.Success, s_publish.Tail);
        var euid = File.ReadAllText(Path.Combine(entry.Groups[1].Value,
            "rootfs/etc/dtv-setuid-euid")).Trim();
        var flags = ReadEntry() ?? string.Empty;
        if (euid != "0" && !flags.Contains("flags: OCF", StringComparison.Ordinal))
        {
            Assert.Inconclusive($"The registration in use has no C flag (euid {euid}): "
                + flags);
        }

        Assert.AreEqual("0", euid, "uid 65534 ran a set-user-ID root program as root");
    }

    [TestMethod]
    public async Task A_second_publish_does_no_base_work()
    {
        var again = await Shell.RunAsync(s_project!.Directory, "dotnet", "publish", "-r",
            "linux-arm64", "-p:BuildBaseImage=true");

        Assert.AreEqual(0, again.ExitCode, again.Tail);
        Assert.IsFalse(again.Output.Contains("bootstrap took", StringComparison.Ordinal),
            again.Tail);
        StringAssert.Contains(again.Output, "not imported again", again.Tail);
        StringAssert.Contains(await RunAsync(), "uname -m: aarch64");
    }

    [TestMethod]
    public async Task A_missing_emulator_stops_the_build_before_any_bootstrap()
    {
        // Another suite makes a recipe the cache does not have, so emulation is needed.
        var result = await Shell.RunAsync(s_project!.Directory, "dotnet", "publish", "-r",
            "linux-arm64", "-p:BuildBaseImage=true", "-p:BaseImageSuite=bookworm",
            "-p:QemuInterpreterPath=/nonexistent/qemu-aarch64-static");

        Assert.AreNotEqual(0, result.ExitCode, result.Tail);
        CollectionAssert.AreEqual(new[] { "DTV4003" }, result.ErrorCodes.ToArray(), result.Tail);
        Assert.IsFalse(result.Output.Contains("--variant=", StringComparison.Ordinal),
            "debootstrap did not start\n" + result.Tail);
    }

    private static Task<string> RunAsync() => Shell.CheckAsync(s_project!.Directory, "docker",
        "run", "--rm", "--pull", "never", "--platform", "linux/arm64", "--network", "none",
        s_project.Repository);

    // The log names the base image the app stands on, whether imported or found in Docker.
    private static string BaseImage()
    {
        var match = Regex.Match(s_publish!.Output,
            $@"base image ({Regex.Escape(s_project!.Repository)}-base:[0-9a-f]+) ");
        Assert.IsTrue(match.Success, s_publish.Tail);
        return match.Groups[1].Value;
    }

    private static string? ReadEntry()
    {
        var path = Path.Combine(BinfmtDirectory, EntryName);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    // Written directly, so that restoring does not rely on the code under test. Only an entry
    // the class added is removed: the build never replaces one that was there, since these
    // tests leave QemuReplaceRegistration false.
    private static void RestoreBinfmt()
    {
        if (s_entryBefore is null && ReadEntry() is not null)
        {
            File.WriteAllText(Path.Combine(BinfmtDirectory, EntryName), "-1");
        }

        if (!s_wasMounted && File.Exists(Path.Combine(BinfmtDirectory, "register")))
        {
            using var umount = System.Diagnostics.Process.Start("umount", [BinfmtDirectory]);
            umount.WaitForExit();
        }
    }
}
