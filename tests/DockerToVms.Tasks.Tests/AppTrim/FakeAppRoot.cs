using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.AppTrim;

/// <summary>
/// A small root filesystem laid out like Debian's, built from the test machine's own programs
/// and libraries (real ELF files, so their dependencies are real too), with a package database
/// that says which fake package each file came from, and a publish folder beside it.
/// </summary>
internal sealed class FakeAppRoot : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-approot-");
    private readonly Dictionary<string, List<string>> _lists = new(StringComparer.Ordinal);
    private readonly List<string> _status = [];

    public FakeAppRoot()
    {
        Root = _folder.CreateFolder("rootfs");
        Publish = _folder.CreateFolder("publish");

        // The shell tells the root's processor; ls is the "app" and needs libselinux.
        Mirror("/usr/bin/dash", "dash");
        File.Copy(HostPath("/usr/bin/dash"), Path.Combine(Root, "usr/bin/sh"));
        Link("/bin", "usr/bin");
        var loader = ElfObject.TryRead(HostPath("/usr/bin/ls"))!.Interpreter!;
        Mirror(loader, "libc6");
        Mirror(HostLibrary("libc.so.6"), "libc6");

        Write("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
        Write("/etc/ld.so.conf.d/multiarch.conf",
            "# Multiarch support\n" + ImageRoot.Parent(HostLibrary("libc.so.6")) + "\n");
        Write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
            + "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
            + "app:x:1654:1654::/home/app:/usr/sbin/nologin\n");
        Write("/etc/group", "root:x:0:\ndaemon:x:1:\napp:x:1654:\n");
        Write("/etc/os-release", "PRETTY_NAME=\"Test\"\n", "base-files");
        Write("/etc/ssl/certs/ca-certificates.crt", "certificates\n", "ca-certificates");
        Link("/usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt");
        Write("/usr/share/zoneinfo/UTC", "TZif\n", "tzdata");
        Write("/usr/share/zoneinfo/Europe/Berlin", "TZif\n", "tzdata");
        Link("/etc/localtime", "/usr/share/zoneinfo/UTC");
        Write("/usr/share/doc/libc6/copyright", "licence\n", "libc6");
        Write("/usr/share/doc/tzdata/copyright", "licence\n", "tzdata");
        Write("/usr/share/doc/coreutils/copyright", "licence\n", "coreutils");
        Write("/usr/share/coreutils/data.txt", "data\n", "coreutils");
        System.IO.Directory.CreateDirectory(Path.Combine(Root, "home/app"));
        System.IO.Directory.CreateDirectory(Path.Combine(Root, "tmp"));
        System.IO.Directory.CreateDirectory(Path.Combine(Root, "var/lib/dpkg/info"));
        Package("libc6");
        Package("tzdata");
        Package("base-files");
        Package("ca-certificates");
        Package("coreutils");
        Package("dash");

        File.Copy(HostPath("/usr/bin/ls"), Path.Combine(Publish, "MyApp"));
        File.WriteAllText(Path.Combine(Publish, "MyApp.dll"), "not an ELF file");
    }

    /// <summary>The root filesystem's directory.</summary>
    public string Root { get; }

    /// <summary>The publish folder.</summary>
    public string Publish { get; }

    /// <summary>Adds libselinux (and what it needs) under the package libselinux1.</summary>
    public void AddSelinux()
    {
        foreach (var needed in Closure(HostPath("/usr/bin/ls")))
        {
            if (!needed.EndsWith("libc.so.6", StringComparison.Ordinal))
            {
                Mirror(needed, needed.Contains("selinux", StringComparison.Ordinal)
                    ? "libselinux1"
                    : "libpcre2-8-0");
            }
        }

        Package("libselinux1");
        Package("libpcre2-8-0");
    }

    /// <summary>Copies a host library (found by name) into the same place in the root.</summary>
    public string AddHostLibrary(string name, string package)
    {
        var path = HostLibrary(name);
        Mirror(path, package);
        Package(package);
        return path;
    }

    /// <summary>Writes a file into the root, owned by a package when one is named.</summary>
    public void Write(string imagePath, string content, string? package = null)
    {
        var path = Path.Combine(Root, imagePath.TrimStart('/'));
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        Own(imagePath, package);
    }

    /// <summary>Creates a symbolic link in the root.</summary>
    public void Link(string imagePath, string target)
    {
        var path = Path.Combine(Root, imagePath.TrimStart('/'));
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.CreateSymbolicLink(path, target);
    }

    /// <summary>The image path of a library of the test machine, such as libc.so.6.</summary>
    public static string HostLibrary(string name)
    {
        var found = ElfObject.TryRead(HostPath("/usr/bin/ls"))!;
        foreach (var directory in new[] { "/usr/lib", "/lib" }
            .SelectMany(d => System.IO.Directory.EnumerateDirectories(d, "*-linux-gnu*"))
            .Append("/usr/lib64"))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate) && ElfObject.ReadMachine(candidate) is { } machine
                && machine == (found.Machine, found.Is64Bit))
            {
                return candidate;
            }
        }

        throw new AssertInconclusiveException($"The test machine has no {name}.");
    }

    public void Dispose() => _folder.Dispose();

    private static string HostPath(string imagePath) => imagePath;

    // The host's libraries that a file needs, found in the host's library directories.
    private static List<string> Closure(string file)
    {
        var result = new List<string>();
        var pending = new Queue<string>([file]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            var elf = ElfObject.TryRead(pending.Dequeue());
            foreach (var name in elf?.Needed ?? [])
            {
                var path = HostLibrary(name);
                if (seen.Add(path))
                {
                    result.Add(path);
                    pending.Enqueue(path);
                }
            }
        }

        return result;
    }

    // Copies a host path into the same path of the root: each link on the way is made again,
    // so the root resolves the path the way the host does.
    private void Mirror(string hostPath, string package)
    {
        var current = "/";
        var parts = hostPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var next = ImageRoot.Join(current, parts[i]);
            var info = new FileInfo(next);
            var mine = Path.Combine(Root, next.TrimStart('/'));
            if (info.LinkTarget is { } target)
            {
                if (!Path.Exists(mine) && new FileInfo(mine).LinkTarget is null)
                {
                    Link(next, target);
                    Own(next, package);
                }

                var rest = string.Join('/', parts.Skip(i + 1));
                var resolved = target.StartsWith('/') ? target : ImageRoot.Join(current, target);
                Mirror(rest.Length == 0 ? resolved : ImageRoot.Join(resolved, rest), package);
                return;
            }

            if (i == parts.Length - 1)
            {
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(mine)!);
                File.Copy(next, mine, overwrite: true);
                Own(next, package);
                return;
            }

            System.IO.Directory.CreateDirectory(mine);
            current = next;
        }
    }

    private void Own(string imagePath, string? package)
    {
        if (package is null)
        {
            return;
        }

        if (!_lists.TryGetValue(package, out var list))
        {
            _lists[package] = list = [];
        }

        list.Add(imagePath);
    }

    // Writes the package's status entry and file list (the list is rewritten each time).
    private void Package(string package)
    {
        if (!_status.Contains(package))
        {
            _status.Add(package);
        }

        File.WriteAllText(Path.Combine(Root, "var/lib/dpkg/status"), string.Concat(_status
            .Select(p => $"Package: {p}\nStatus: install ok installed\nInstalled-Size: 10\n"
                + "Architecture: amd64\nVersion: 1.0\n\n")));
        var lines = _lists.GetValueOrDefault(package) ?? [];
        File.WriteAllLines(Path.Combine(Root, $"var/lib/dpkg/info/{package}:amd64.list"),
            ["/.", "/usr", .. lines]);
    }
}
