using System.Runtime.InteropServices;

namespace DockerToVms.Tasks.Recipe;

/// <summary>
/// Maps between .NET runtime identifiers, Debian architecture names and the names Docker and
/// QEMU use for the same processors.
/// </summary>
public static class DebianArchitecture
{
    private static readonly Dictionary<string, string> s_fromRid = new(StringComparer.Ordinal)
    {
        ["linux-x64"] = "amd64",
        ["linux-arm64"] = "arm64",
        ["linux-arm"] = "armhf",
    };

    /// <summary>Architectures Debian publishes today.</summary>
    public static IReadOnlyList<string> Known { get; } =
        ["amd64", "arm64", "armel", "armhf", "i386", "mips64el", "ppc64el", "riscv64", "s390x"];

    /// <summary>The Debian architecture for a runtime identifier, or null if there is none.</summary>
    public static string? FromRuntimeIdentifier(string runtimeIdentifier) =>
        s_fromRid.TryGetValue(runtimeIdentifier, out var arch) ? arch : null;

    /// <summary>Runtime identifiers that have a Debian architecture.</summary>
    public static IEnumerable<string> SupportedRuntimeIdentifiers => s_fromRid.Keys;

    /// <summary>The Debian architecture of the machine the build runs on.</summary>
    public static string Host => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "armhf",
        Architecture.X86 => "i386",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64el",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>Docker's architecture and variant for a Debian architecture.</summary>
    public static (string Architecture, string? Variant) ToDocker(string debianArchitecture) =>
        debianArchitecture switch
        {
            "amd64" => ("amd64", null),
            "arm64" => ("arm64", "v8"),
            "armhf" => ("arm", "v7"),
            "armel" => ("arm", "v5"),
            "i386" => ("386", null),
            "ppc64el" => ("ppc64le", null),
            var other => (other, null),
        };

    /// <summary>The name of QEMU's user-mode emulator for a Debian architecture.</summary>
    public static string ToQemu(string debianArchitecture) => debianArchitecture switch
    {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "armhf" or "armel" => "arm",
        "ppc64el" => "ppc64le",
        "mips64el" => "mips64el",
        var other => other,
    };
}
