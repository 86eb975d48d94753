using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using System.Text.Json;

namespace DockerToVms.EndToEndTests.Infrastructure;

/// <summary>
/// A value put into the environment of every build the tests run, which the recipes never
/// ask for: found in an image, it shows that the build's environment leaked into it.
/// </summary>
public static class BuildCanary
{
    /// <summary>The variable's name.</summary>
    public const string Name = "DOCKERTOVMS_CANARY";

    /// <summary>This run's value, also set in this process for the tasks it runs itself.</summary>
    public static string Value { get; } = Install();

    private static string Install()
    {
        var value = "dtv-canary-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(Name, value);
        return value;
    }
}

/// <summary>
/// Looks through every layer and the configuration of images for what the build machine must
/// not leave in them: the canary and other variables of the build's environment, the
/// machine's resolver, hosts, hostname and machine-id, apt proxy and credential settings,
/// SSH keys, the paths of the build's folders and the build user's name.
/// </summary>
public static class ImageLeaks
{
    // Files that exist only while a build runs, or only on the build machine.
    private static readonly string[] s_forbiddenPaths =
    [
        "etc/apt/apt.conf.d/00dockertovms-build", "usr/sbin/policy-rc.d", "root/.ssh/",
        "etc/apt/auth.conf", "debootstrap/",
    ];

    // Variables of the build's environment an image's configuration must not carry.
    private static readonly string[] s_buildVariables =
    [
        BuildCanary.Name, "HOME=", "USER=", "LOGNAME=", "SUDO_", "MSBUILD", "NUGET_",
        "DOTNET_CLI", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
    ];

    /// <summary>
    /// Checks the images and returns what leaked, one finding a line (none when clean).
    /// <paramref name="buildPaths"/> are folders of this build machine (project, feed,
    /// checkout) that must not appear.
    /// </summary>
    public static async Task<IReadOnlyList<string>> FindAsync(IReadOnlyList<string> images,
        IReadOnlyList<string> buildPaths)
    {
        if (images.Count == 0)
        {
            return [];
        }

        var needles = Needles(buildPaths);
        var findings = new List<string>();
        var start = new ProcessStartInfo("docker", ["save", .. images])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var save = Process.Start(start)!;
        var errors = save.StandardError.ReadToEndAsync();
        await ScanArchiveAsync(save.StandardOutput.BaseStream, "", needles, findings);
        await save.WaitForExitAsync();
        if (save.ExitCode != 0)
        {
            findings.Add($"docker save failed: {await errors}");
        }

        var distinct = findings.Distinct().ToList();
        Console.WriteLine($"leak check: {images.Count} image(s) ({string.Join(", ", images)}), "
            + $"{distinct.Count} finding(s)");
        return distinct;
    }

    /// <summary>What must not be found, each with a name for the finding.</summary>
    internal static List<(string What, byte[] Bytes)> Needles(IReadOnlyList<string> buildPaths)
    {
        var needles = new List<(string, string)> { ("the build's canary variable", BuildCanary.Value) };

        foreach (var line in Lines("/etc/resolv.conf").Where(l =>
            l.StartsWith("nameserver ", StringComparison.Ordinal)
            || l.StartsWith("search ", StringComparison.Ordinal)))
        {
            needles.Add(("the build machine's resolv.conf", line));
        }

        foreach (var line in Lines("/etc/hosts").Where(l => !l.StartsWith('#')
            && !l.Contains("localhost", StringComparison.Ordinal)
            && !l.Contains("ip6-", StringComparison.Ordinal)))
        {
            needles.Add(("the build machine's hosts file", line));
        }

        var hostname = Lines("/etc/hostname").FirstOrDefault() ?? Environment.MachineName;
        if (hostname.Length >= 6 && hostname != "localhost")
        {
            needles.Add(("the build machine's hostname", hostname));
        }

        if (Lines("/etc/machine-id").FirstOrDefault() is { Length: >= 16 } machineId)
        {
            needles.Add(("the build machine's machine-id", machineId));
        }

        foreach (var file in Files("/etc/apt/apt.conf.d").Concat(Files("/etc/apt/auth.conf.d"))
            .Append("/etc/apt/auth.conf").Append("/etc/apt/apt.conf"))
        {
            foreach (var line in Lines(file).Where(l =>
                l.Contains("Proxy", StringComparison.OrdinalIgnoreCase)
                || l.StartsWith("machine ", StringComparison.Ordinal)
                || l.StartsWith("password ", StringComparison.Ordinal)))
            {
                needles.Add(("the build machine's apt proxy or credentials", line));
            }
        }

        foreach (var key in Files("/root/.ssh").Concat(Files("/etc/ssh")
            .Where(f => Path.GetFileName(f).StartsWith("ssh_host_", StringComparison.Ordinal))))
        {
            // The base64 body of a key, long enough never to match by chance.
            foreach (var part in Lines(key).SelectMany(l => l.Split(' '))
                .Where(p => p.Length >= 40 && !p.StartsWith("-----", StringComparison.Ordinal)))
            {
                needles.Add(($"an SSH key of the build machine ({key})", part));
            }
        }

        foreach (var name in new[] { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY" })
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } proxy)
            {
                needles.Add(($"the build's {name}", proxy));
            }
        }

        foreach (var path in buildPaths.Where(p => p.Length > 4))
        {
            needles.Add(("a folder of the build machine", path.TrimEnd('/')));
        }

        foreach (var user in new[] { Environment.UserName,
            Environment.GetEnvironmentVariable("SUDO_USER") })
        {
            if (user is { Length: >= 3 } && user != "root")
            {
                needles.Add(("the build user's name", user));
            }
        }

        return [.. needles.Select(n => (n.Item1, Encoding.UTF8.GetBytes(n.Item2)))];
    }

    private static async Task ScanArchiveAsync(Stream archive, string where,
        List<(string What, byte[] Bytes)> needles, List<string> findings)
    {
        using var reader = new TarReader(archive, leaveOpen: true);
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            var name = entry.Name.TrimStart('.', '/');
            var place = where.Length == 0 ? name : $"{where}:/{name}";
            if (where.Length > 0 && s_forbiddenPaths.Any(p => name == p.TrimEnd('/')
                || name.StartsWith(p.EndsWith('/') ? p : p + "/", StringComparison.Ordinal)))
            {
                findings.Add($"{place} is a build-time or build-machine file");
            }

            Search(needles, Encoding.UTF8.GetBytes(name), place + " (its name)", findings);
            if (entry.DataStream is null || entry.EntryType is not (TarEntryType.RegularFile
                or TarEntryType.V7RegularFile))
            {
                continue;
            }

            if (where.Length == 0 && name.EndsWith(".tar", StringComparison.Ordinal))
            {
                await ScanArchiveAsync(entry.DataStream, name, needles, findings);
                continue;
            }

            using var content = new MemoryStream();
            await entry.DataStream.CopyToAsync(content);
            var bytes = content.GetBuffer().AsSpan(0, (int)content.Length);
            Search(needles, bytes, place, findings);
            if (where.Length == 0 && name.EndsWith(".json", StringComparison.Ordinal)
                && name != "manifest.json" && name != "repositories")
            {
                CheckConfig(content.ToArray(), name, findings);
            }
        }
    }

    private static void Search(List<(string What, byte[] Bytes)> needles, ReadOnlySpan<byte> bytes,
        string place, List<string> findings)
    {
        foreach (var (what, needle) in needles)
        {
            if (bytes.IndexOf(needle) >= 0)
            {
                findings.Add($"{place} holds {what} ('{Encoding.UTF8.GetString(needle)}')");
            }
        }
    }

    // The configuration's environment holds only what the image was given.
    private static void CheckConfig(byte[] json, string name, List<string> findings)
    {
        using var document = JsonDocument.Parse(json);
        if (!document.RootElement.TryGetProperty("config", out var config)
            || !config.TryGetProperty("Env", out var env) || env.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var variable in env.EnumerateArray().Select(e => e.GetString() ?? ""))
        {
            if (s_buildVariables.Any(b => variable.StartsWith(b, StringComparison.Ordinal)))
            {
                findings.Add($"{name}: the image's environment has the build's {variable}");
            }
        }
    }

    private static List<string> Lines(string file)
    {
        try
        {
            return File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0)
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static IEnumerable<string> Files(string directory) =>
        Directory.Exists(directory) ? Directory.EnumerateFiles(directory) : [];
}
