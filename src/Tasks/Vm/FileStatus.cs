using System.Runtime.InteropServices;

namespace DockerToVms.Tasks.Vm;

/// <summary>
/// What <c>lstat</c> says about a path that .NET does not: the numeric owner and group, the
/// file type and, for a device node, its numbers. An archive of a root filesystem needs them
/// as they are on disk, since the image's files belong to its own accounts.
/// </summary>
internal readonly record struct FileStatus(uint Mode, uint Owner, uint Group, ulong Device,
    long ModificationTime)
{
    /// <summary>The file type bits of <see cref="Mode"/> (S_IFMT).</summary>
    public uint Type => Mode & 0xF000;

    /// <summary>The major number of a device node.</summary>
    public uint DeviceMajor => (uint)(((Device >> 8) & 0xFFF) | ((Device >> 32) & ~0xFFFUL));

    /// <summary>The minor number of a device node.</summary>
    public uint DeviceMinor => (uint)((Device & 0xFF) | ((Device >> 12) & ~0xFFUL));

    /// <summary>Reads the status of the path itself, not of what a link at its end names.</summary>
    public static FileStatus Of(string path)
    {
        // glibc's struct stat differs between architectures; the offsets are those of the
        // two this library builds on (x86_64, and the generic layout of aarch64).
        var buffer = new byte[256];
        if (LStat([.. System.Text.Encoding.UTF8.GetBytes(path), 0], buffer) != 0)
        {
            throw new IOException($"lstat '{path}': {Marshal.GetLastPInvokeErrorMessage()}",
                Marshal.GetLastPInvokeError());
        }

        var arm = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
        var (mode, owner, group, device) = arm ? (16, 24, 28, 32) : (24, 28, 32, 40);
        return new FileStatus(
            BitConverter.ToUInt32(buffer, mode),
            BitConverter.ToUInt32(buffer, owner),
            BitConverter.ToUInt32(buffer, group),
            BitConverter.ToUInt64(buffer, device),
            BitConverter.ToInt64(buffer, 88));
    }

    [DllImport("libc.so.6", EntryPoint = "lstat", SetLastError = true)]
    private static extern int LStat(byte[] path, byte[] status);
}
