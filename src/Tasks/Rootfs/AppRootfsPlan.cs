using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>What the app needs from the base, beyond the files its publish folder holds.</summary>
public sealed record AppRootfsRequest
{
    /// <summary>The full (customised and slim) root filesystem the files are taken from.</summary>
    public required string Root { get; init; }

    /// <summary>The folder the app was published to.</summary>
    public required string PublishDirectory { get; init; }

    /// <summary>Whether the app loads ICU (InvariantGlobalization is not true).</summary>
    public bool Globalization { get; init; }

    /// <summary>Whether the time zone database is kept.</summary>
    public bool TimeZones { get; init; } = true;

    /// <summary>The account the app runs as; kept in /etc/passwd beside root.</summary>
    public string User { get; init; } = string.Empty;

    /// <summary>Packages kept whole (the BaseImagePackage items), with what they link to.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>Absolute paths in the image kept in addition (BaseImageKeepFile items).</summary>
    public IReadOnlyList<string> KeepFiles { get; init; } = [];

    /// <summary>The archive's package names, for naming the package a missing library is in.</summary>
    public PackageIndex? Index { get; init; }
}

/// <summary>
/// The files of an <c>app</c>-level base: everything the published app's executables and
/// libraries need, found by following their dynamic dependencies through the full root
/// filesystem the way the loader would, plus what .NET opens without declaring it (OpenSSL,
/// ICU, libgcc_s), the accounts, name service and loader configuration, CA certificates and
/// time zones. The package database is cut down to the packages those files came from.
/// </summary>
public sealed partial class AppRootfsPlan
{
    /// <summary>
    /// Bumped whenever the way a plan becomes a root filesystem changes, so an app-level base
    /// made by an older version of this library is not reused.
    /// </summary>
    public const int FormatVersion = 1;

    // Read by .NET and the C library at run time; each is kept when the root has it.
    private static readonly string[] s_system =
    [
        "/etc/os-release", "/etc/nsswitch.conf", "/etc/hosts", "/etc/hostname",
        "/etc/resolv.conf", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/ld.so.cache",
        "/bin", "/sbin", "/lib", "/lib64", "/tmp", "/var/tmp", "/root", "/proc", "/sys", "/dev",
        "/run",
    ];

    // OpenSSL looks for the bundle in its own directory (cert.pem, certs/) and .NET reads
    // both; Debian links them to /etc/ssl/certs.
    private static readonly string[] s_certificates =
    [
        "/etc/ssl/certs/ca-certificates.crt", "/usr/lib/ssl/cert.pem", "/usr/lib/ssl/certs",
    ];

    private static readonly string[] s_timeZones =
        ["/usr/share/zoneinfo", "/etc/localtime", "/etc/timezone"];

    // Published libraries .NET loads only if it can, carrying on without them: the runtime's
    // LTTng trace provider needs liblttng-ust, which images for .NET do not carry either.
    private static readonly string[] s_optional = ["libcoreclrtraceptprovider.so"];

    // Written into the derived root rather than copied: cut down to what the image needs.
    private static readonly string[] s_generated =
        ["/etc/passwd", "/etc/group", DpkgDatabase.StatusPath];

    private readonly SortedSet<string> _paths = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _packages = new(StringComparer.Ordinal);
    private readonly ImageRoot _root;
    private readonly AppRootfsRequest _request;
    private readonly DpkgDatabase _database;
    private readonly List<string> _missing = [];
    private DtvException? _missingError;

    private AppRootfsPlan(AppRootfsRequest request)
    {
        _request = request;
        _root = new ImageRoot(request.Root);
        _database = DpkgDatabase.Read(_root);
    }

    /// <summary>Every path the derived root filesystem takes from the full one, sorted.</summary>
    public IReadOnlyCollection<string> Paths => _paths;

    /// <summary>The packages those paths came from.</summary>
    public IReadOnlyCollection<string> Packages => _packages;

    /// <summary>Whether a published file loads OpenSSL, so libssl and libcrypto were kept.</summary>
    public bool UsesOpenSsl { get; private set; }

    /// <summary>Whether OpenSSL was wanted but the root filesystem has no libssl.</summary>
    public bool OpenSslMissing { get; private set; }

    /// <summary>
    /// Works out the files. Throws DTV9021 when a library is needed that the root filesystem
    /// does not have, DTV9020 when a kept path does not exist.
    /// </summary>
    public static AppRootfsPlan Create(AppRootfsRequest request)
    {
        var plan = new AppRootfsPlan(request);
        plan.Collect();
        return plan;
    }

    /// <summary>The digest of the derived root filesystem: its base, the user and the paths.</summary>
    public string ComputeDigest(string baseDigest)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in new[] { $"format {FormatVersion}", baseDigest, _request.User }
            .Concat(_paths))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(part));
            hash.AppendData([0]);
        }

        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>
    /// The files written into the derived root instead of copied, by image path: the accounts
    /// of root and the app's user, and the status of the packages kept.
    /// </summary>
    public IReadOnlyDictionary<string, string> GeneratedFiles()
    {
        var passwd = ReadLines("/etc/passwd");
        var kept = passwd.Where(l => IsAccount(l, "root") || IsAccount(l, _request.User))
            .ToList();
        var groups = kept.Select(l => l.Split(':')).Where(f => f.Length > 3)
            .Select(f => f[3]).ToHashSet(StringComparer.Ordinal);
        var group = ReadLines("/etc/group")
            .Where(l => l.Split(':') is { Length: > 2 } f && (groups.Contains(f[2])
                || f[0] == "root"))
            .ToList();

        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["/etc/passwd"] = Text(kept),
            ["/etc/group"] = Text(group),
            [DpkgDatabase.StatusPath] = _database.StatusFor(_packages),
        };
    }

    private void Collect()
    {
        var machine = TargetMachine();
        var search = new LibrarySearch(_root, path => ElfObject.ReadMachine(path) == machine);
        var queue = new Queue<(ElfObject Object, string? Origin, string Name)>();
        var read = new HashSet<string>(StringComparer.Ordinal);

        foreach (var path in s_system)
        {
            KeepIfPresent(path, tree: path.StartsWith("/etc/", StringComparison.Ordinal));
        }

        foreach (var path in s_certificates)
        {
            KeepIfPresent(path, tree: false);
        }

        if (_request.TimeZones)
        {
            foreach (var path in s_timeZones)
            {
                KeepIfPresent(path, tree: true);
            }
        }

        KeepHome();

        // The published files: every ELF file for the image's processor starts a chain.
        // Native libraries a single-file app carries inside its bundle are not seen here.
        var publish = Path.GetFullPath(_request.PublishDirectory);
        var appFiles = new HashSet<string>(StringComparer.Ordinal);
        var loadsOpenSsl = new List<string>();
        foreach (var file in Directory.EnumerateFiles(publish, "*", SearchOption.AllDirectories))
        {
            appFiles.Add(Path.GetFileName(file));
            if (ElfObject.TryRead(file) is { } elf && (elf.Machine, elf.Is64Bit) == machine)
            {
                queue.Enqueue((elf, null, Path.GetRelativePath(publish, file)));
                if (LoadsOpenSsl(file, elf))
                {
                    loadsOpenSsl.Add(Path.GetFileName(file));
                }
            }
        }

        UsesOpenSsl = UsesOpenSslAt(publish, loadsOpenSsl);

        // .NET opens these with dlopen, so no file declares them.
        if (UsesOpenSsl)
        {
            OpenSslMissing = KeepLibraries(LibraryPattern.OpenSsl(), queue) == 0;
            KeepIfPresent("/usr/lib/ssl/openssl.cnf", tree: false);
        }

        if (_request.Globalization && KeepLibraries(LibraryPattern.Icu(), queue) == 0)
        {
            var icu = _request.Index?.NewestIcu();
            throw new DtvException("IcuMissing", icu is null ? string.Empty : $" ({icu})");
        }

        // The C library loads libgcc_s itself to unwind threads that are cancelled or exit.
        KeepLibraries(LibraryPattern.GccRuntime(), queue);

        foreach (var package in _request.Packages)
        {
            KeepPackage(package, queue);
        }

        foreach (var path in _request.KeepFiles)
        {
            KeepRequested(path, queue);
        }

        while (queue.Count > 0)
        {
            var (elf, origin, name) = queue.Dequeue();
            Follow(elf, origin, name, search, queue, read, appFiles);
        }

        if (_missing.Count > 0)
        {
            throw _missingError!;
        }

        AddPackagesAndCopyrights();
        foreach (var generated in s_generated)
        {
            _paths.Remove(generated);
            _paths.Add(ImageRoot.Parent(generated));
        }

        foreach (var path in _paths.ToList())
        {
            foreach (var ancestor in ImageRoot.Ancestors(path))
            {
                _paths.Add(ancestor);
            }
        }
    }

    private void Follow(ElfObject elf, string? origin, string name, LibrarySearch search,
        Queue<(ElfObject, string?, string)> queue, HashSet<string> read,
        HashSet<string> appFiles)
    {
        if (elf.Interpreter is { } interpreter)
        {
            var loader = Keep(interpreter);
            if (loader is null)
            {
                Missing(interpreter, name);
            }
            else if (read.Add(loader) && ElfObject.TryRead(_root.HostPath(loader)) is { } ld)
            {
                queue.Enqueue((ld, ImageRoot.Parent(loader), loader));
            }
        }

        foreach (var needed in elf.Needed)
        {
            var links = new List<string>();
            var found = search.Find(needed, elf, origin, links);
            if (found is null)
            {
                // The app's own libraries travel in its layer; .NET loads them by full path.
                if (origin is null && appFiles.Contains(Path.GetFileName(needed)))
                {
                    continue;
                }

                if (!s_optional.Contains(Path.GetFileName(name)))
                {
                    Missing(needed, name);
                }

                continue;
            }

            _paths.UnionWith(links);
            _paths.Add(found);
            if (read.Add(found) && ElfObject.TryRead(_root.HostPath(found)) is { } library)
            {
                queue.Enqueue((library, ImageRoot.Parent(found), found));
            }
        }
    }

    private void Missing(string library, string neededBy)
    {
        _missing.Add(library);
        if (_missingError is null)
        {
            var guesses = _request.Index?.Guess(Path.GetFileName(library)) ?? [];
            _missingError = new DtvException("LibraryMissing", library, neededBy,
                guesses.Count == 0 ? string.Empty : $" ({string.Join(" or ", guesses)})");
        }
    }

    private (ELFSharp.ELF.Machine, bool) TargetMachine()
    {
        foreach (var shell in new[] { "/bin/sh", "/usr/bin/sh" })
        {
            if (_root.Resolve(shell, new List<string>()) is { } path
                && ElfObject.ReadMachine(_root.HostPath(path)) is { } machine)
            {
                return machine;
            }
        }

        throw new DtvException("RootfsMissing", _request.Root);
    }

    // Keeps the path and the links leading to it; returns where it really is, or null.
    private string? Keep(string imagePath)
    {
        var links = new List<string>();
        var resolved = _root.Resolve(imagePath, links);
        if (resolved is null)
        {
            return null;
        }

        _paths.UnionWith(links);
        _paths.Add(resolved);
        return resolved;
    }

    private void KeepIfPresent(string imagePath, bool tree)
    {
        var resolved = Keep(imagePath);
        if (resolved is not null && tree && _root.IsDirectory(resolved))
        {
            KeepTree(resolved);
        }
    }

    private void KeepTree(string directory)
    {
        foreach (var entry in _root.EnumerateTree(directory))
        {
            _paths.Add(entry);

            // A link inside the tree may point out of it (zoneinfo's localtime does).
            if (new FileInfo(_root.HostPath(entry)).LinkTarget is not null)
            {
                Keep(entry);
            }
        }
    }

    private void KeepHome()
    {
        var account = ReadLines("/etc/passwd").Select(l => l.Split(':'))
            .FirstOrDefault(f => f.Length > 5 && f[0] == _request.User);
        if (account is not null && account[5].StartsWith('/'))
        {
            // The directory itself, owned by the user, without the shell's start files.
            Keep(account[5]);
        }
    }

    private int KeepLibraries(Regex pattern, Queue<(ElfObject, string?, string)> queue)
    {
        var kept = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var directory in new LibrarySearch(_root, _ => true).SystemDirectories)
        {
            var real = _root.Resolve(directory, new List<string>());
            if (real is null || !_root.IsDirectory(real) || !seen.Add(real))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFileSystemEntries(_root.HostPath(real))
                .Select(Path.GetFileName).Where(n => pattern.IsMatch(n!))
                .Order(StringComparer.Ordinal))
            {
                var path = Keep(ImageRoot.Join(real, file!));
                if (path is not null && !_root.IsDirectory(path)
                    && ElfObject.TryRead(_root.HostPath(path)) is { } elf)
                {
                    queue.Enqueue((elf, ImageRoot.Parent(path), path));
                    kept++;
                }
            }
        }

        return kept;
    }

    private void KeepPackage(string package, Queue<(ElfObject, string?, string)> queue)
    {
        foreach (var listed in _database.FilesOf(package))
        {
            var path = Keep(listed);
            if (path is not null && !_root.IsDirectory(path)
                && ElfObject.TryRead(_root.HostPath(path)) is { } elf)
            {
                queue.Enqueue((elf, ImageRoot.Parent(path), path));
            }
        }
    }

    private void KeepRequested(string imagePath, Queue<(ElfObject, string?, string)> queue)
    {
        RecipeValidation.PathInImage(imagePath, "BaseImageKeepFile");
        var path = Keep(imagePath)
            ?? throw new DtvException("KeepFileMissing", imagePath, _request.Root);
        if (_root.IsDirectory(path))
        {
            KeepTree(path);
            foreach (var entry in _root.EnumerateTree(path))
            {
                if (ElfObject.TryRead(_root.HostPath(entry)) is { } inner)
                {
                    queue.Enqueue((inner, ImageRoot.Parent(entry), entry));
                }
            }
        }
        else if (ElfObject.TryRead(_root.HostPath(path)) is { } elf)
        {
            queue.Enqueue((elf, ImageRoot.Parent(path), path));
        }
    }

    // Licences travel with the files they cover: each package's copyright file is kept.
    private void AddPackagesAndCopyrights()
    {
        foreach (var path in _paths)
        {
            if (_database.OwnerOf(path) is { } owner)
            {
                _packages.Add(owner);
            }
        }

        foreach (var package in _packages.ToList())
        {
            Keep($"/usr/share/doc/{package}/copyright");
        }
    }

    private List<string> ReadLines(string imagePath)
    {
        var path = _root.Resolve(imagePath, new List<string>());
        return path is null || _root.IsDirectory(path)
            ? []
            : [.. File.ReadAllLines(_root.HostPath(path))];
    }

    private static bool IsAccount(string line, string name) =>
        name.Length > 0 && line.StartsWith(name + ":", StringComparison.Ordinal);

    private static string Text(List<string> lines) =>
        lines.Count == 0 ? string.Empty : string.Join('\n', lines) + "\n";

    // A program or library that names libssl loads it (.NET's OpenSSL shim, or a Native AOT
    // app with the shim linked in, which it is only when the app uses it). The shim as a file
    // of its own is published whether or not the app uses it; then the question is whether
    // any managed assembly still calls into it, which after trimming tells.
    private static bool UsesOpenSslAt(string publish, List<string> loadsOpenSsl)
    {
        var shim = Encoding.ASCII.GetString(OpenSslShimName) + ".so";
        if (loadsOpenSsl.Any(name => name != shim))
        {
            return true;
        }

        return loadsOpenSsl.Count > 0 && Directory
            .EnumerateFiles(publish, "*.dll", SearchOption.AllDirectories)
            .Any(dll => Mentions(dll, OpenSslShimName));
    }

    // A single-file app's host has the OpenSSL shim linked in whether or not the app uses it;
    // the bundle after the host tells: it lists System.Security.Cryptography.dll (by name,
    // compressed or not) only when the app, trimmed or not, can reach cryptography.
    private static bool LoadsOpenSsl(string path, ElfObject elf)
    {
        var content = File.ReadAllBytes(path);
        if (content.AsSpan().IndexOf("libssl.so"u8) < 0)
        {
            return false;
        }

        var trailer = content.AsSpan((int)Math.Min(content.Length, elf.ContentLength));
        return trailer.IndexOf("System.Private.CoreLib.dll"u8) < 0
            || trailer.IndexOf("System.Security.Cryptography.dll"u8) >= 0;
    }

    private static ReadOnlySpan<byte> OpenSslShimName =>
        "libSystem.Security.Cryptography.Native.OpenSsl"u8;

    private static bool Mentions(string path, ReadOnlySpan<byte> text)
    {
        var content = File.ReadAllBytes(path);
        return content.AsSpan().IndexOf(text) >= 0;
    }

    private static partial class LibraryPattern
    {
        [GeneratedRegex(@"^lib(ssl|crypto)\.so\.\d[\d.]*$")]
        public static partial Regex OpenSsl();

        [GeneratedRegex(@"^libicu(uc|i18n|data)\.so\.\d+$")]
        public static partial Regex Icu();

        [GeneratedRegex(@"^libgcc_s\.so\.1$")]
        public static partial Regex GccRuntime();
    }
}
