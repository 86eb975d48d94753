using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Qemu;

/// <summary>
/// Checks that programs of a root filesystem's own architecture run on this machine, by
/// running <c>uname -m</c> inside it. Slow work that relies on emulation (debootstrap's
/// second stage, apt) is started only after this check, so a missing or disabled binfmt_misc
/// entry gets an error of its own instead of an "Exec format error" deep in a package script.
/// </summary>
public static class EmulationProbe
{
    /// <summary>The command the probe runs inside the root filesystem.</summary>
    public static IReadOnlyList<string> Command { get; } = ["uname", "-m"];

    // What uname -m reports for a program of each architecture, natively or under QEMU, which
    // answers with the emulated processor's name. 32-bit ARM depends on the CPU model QEMU
    // emulates, so every name it may give is accepted.
    private static readonly Dictionary<string, string[]> s_machines = new(StringComparer.Ordinal)
    {
        ["amd64"] = ["x86_64"],
        ["arm64"] = ["aarch64"],
        ["armhf"] = ["armv7l", "armv8l"],
        ["armel"] = ["armv5tel", "armv5tejl", "armv7l", "armv8l"],
        ["i386"] = ["i686", "i586", "i386", "x86_64"],
        ["mips64el"] = ["mips64"],
        ["ppc64el"] = ["ppc64le"],
        ["riscv64"] = ["riscv64"],
        ["s390x"] = ["s390x"],
    };

    /// <summary>The names uname -m may report for the architecture; empty when unknown.</summary>
    public static IReadOnlyList<string> MachineNames(string architecture) =>
        s_machines.TryGetValue(architecture, out var names) ? names : [];

    /// <summary>
    /// Runs the probe in the session's root filesystem and returns what uname -m reported.
    /// </summary>
    /// <exception cref="DtvException">DTV4008 when the program does not run, or reports
    /// another processor than the architecture's.</exception>
    public static async Task<string> CheckAsync(ChrootSession session, string architecture,
        CancellationToken cancellation)
    {
        var result = await session.RunAsync(Command, new Dictionary<string, string>(),
            string.Join(' ', Command), cancellation).ConfigureAwait(false);
        var machine = result.LastLines.Count > 0 ? result.LastLines[^1].Trim() : string.Empty;
        var expected = MachineNames(architecture);
        if (result.ExitCode != 0 || (expected.Count > 0 && !expected.Contains(machine)))
        {
            throw new DtvException("EmulationNotWorking", architecture, session.Root,
                result.ExitCode, machine, QemuBinaryFormats.EntryName(architecture),
                result.Tail);
        }

        return machine;
    }
}
