using System.Text;
using System.Text.Json;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Vm;

/// <summary>What every VM test checks after a boot, whatever the image's format.</summary>
internal static class VmChecks
{
    /// <summary>The VM starts the app exactly as the container image does.</summary>
    public static async Task AssertSameLaunchAsContainerAsync(UserProject project)
    {
        var launch = ReadLaunch(project);
        var entrypoint = Strings(await project.InspectAsync(project.Repository,
            "{{json .Config.Entrypoint}}"));
        var cmd = Strings(await project.InspectAsync(project.Repository, "{{json .Config.Cmd}}"));
        CollectionAssert.AreEqual(entrypoint.Concat(cmd).ToList(), launch["arg"]);
        var environment = Strings(await project.InspectAsync(project.Repository,
            "{{json .Config.Env}}"));
        CollectionAssert.AreEquivalent(environment,
            launch["env"].Where(e => !e.StartsWith("HOME=", StringComparison.Ordinal)).ToList(),
            "HOME is added only as a container runtime adds it");
        Assert.AreEqual(await project.InspectAsync(project.Repository, "{{.Config.WorkingDir}}"),
            launch["workdir"].Single());
    }

    /// <summary>No QEMU process of the project runs and nothing of it is mounted.</summary>
    public static async Task AssertNothingLeftAsync(UserProject project)
    {
        var qemu = await Shell.RunAsync(project.Directory, "pgrep", "-f",
            "qemu-system.*" + project.Directory);
        Assert.AreEqual(1, qemu.ExitCode, "a QEMU process was left: " + qemu.Output);
        var mounts = await File.ReadAllTextAsync("/proc/mounts");
        Assert.IsFalse(mounts.Contains(project.Directory, StringComparison.Ordinal), mounts);
    }

    private static List<string> Strings(string json) =>
        json is "null" or "" ? [] : JsonSerializer.Deserialize<List<string>>(json)!;

    // The init's launch settings in the VM's root: NUL-ended key=value records.
    private static Dictionary<string, List<string>> ReadLaunch(UserProject project)
    {
        var path = Path.Combine(project.Directory,
            "obj/Release/net10.0/linux-x64/dockertovms/vm-root/etc/dockertovms/app.conf");
        return Encoding.UTF8.GetString(File.ReadAllBytes(path))
            .Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(r => r.Split('=', 2))
            .GroupBy(r => r[0], r => r[1])
            .ToDictionary(g => g.Key, g => g.ToList());
    }
}
