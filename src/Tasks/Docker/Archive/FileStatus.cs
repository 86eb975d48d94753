using System.Runtime.InteropServices;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>
/// What a layer records of a path, read without following a link at its end: the file type
/// and permission bits, numeric owner, link count and identity (to find hard links), the
/// device a special file stands for, and the modification time. .NET offers no call that
/// returns these together, so they come from the kernel's <c>statx</c>, whose record has the
/// same layout on every architecture.
/// </summary>
/// <param name="Mode">The type and permission bits, as in <c>st_mode</c>.</param>
/// <param name="Uid">The numeric owner.</param>
/// <param name="Gid">The numeric group.</param>
/// <param name="Links">The number of names the file has.</param>
/// <param name="Inode">The file's number on its file system.</param>
/// <param name="Device">The file system the path is on (major and minor in one number).</param>
/// <param name="DeviceMajor">For a device node, the major number of the device it stands for.</param>
/// <param name="DeviceMinor">For a device node, its minor number.</param>
/// <param name="Size">The size in bytes.</param>
/// <param name="ModifiedSeconds">The modification time, in whole seconds since 1970.</param>
public sealed record FileStatus(uint Mode, int Uid, int Gid, uint Links, ulong Inode,
    ulong Device, int DeviceMajor, int DeviceMinor, long Size, long ModifiedSeconds)
{
    private const uint TypeMask = 0xF000;

    /// <summary>The capability attribute, the one extended attribute a layer keeps.</summary>
    public const string CapabilityAttribute = "security.capability";

    /// <summary>
    /// The status change time (ctime) in nanoseconds since 1970: set by the kernel on every
    /// change of the file or its metadata, and, unlike the modification time, by no tool.
    /// </summary>
    public long ChangedNanoseconds { get; init; }

    /// <summary>Whether the path is a directory.</summary>
    public bool IsDirectory => (Mode & TypeMask) == 0x4000;

    /// <summary>Whether the path is a regular file.</summary>
    public bool IsFile => (Mode & TypeMask) == 0x8000;

    /// <summary>Whether the path is a symbolic link.</summary>
    public bool IsSymbolicLink => (Mode & TypeMask) == 0xA000;

    /// <summary>Whether the path is a character device node.</summary>
    public bool IsCharacterDevice => (Mode & TypeMask) == 0x2000;

    /// <summary>Whether the path is a block device node.</summary>
    public bool IsBlockDevice => (Mode & TypeMask) == 0x6000;

    /// <summary>Whether the path is a named pipe.</summary>
    public bool IsFifo => (Mode & TypeMask) == 0x1000;

    /// <summary>The permission bits, set-user-ID, set-group-ID and sticky included.</summary>
    public UnixFileMode Permissions => (UnixFileMode)(Mode & 0xFFF);

    /// <summary>Reads the status of the path itself, not of what a link points to.</summary>
    /// <exception cref="IOException">When the path cannot be read.</exception>
    public static FileStatus Read(string path)
    {
        var record = new byte[256];
        if (Native.Statx(AtCurrentDirectory, Native.Path(path), AtSymlinkNoFollow, BasicStats,
            record) != 0)
        {
            throw Native.Failure("statx", path);
        }

        var span = record.AsSpan();
        return new FileStatus(
            Mode: BitConverter.ToUInt16(span[28..]),
            Uid: (int)BitConverter.ToUInt32(span[20..]),
            Gid: (int)BitConverter.ToUInt32(span[24..]),
            Links: BitConverter.ToUInt32(span[16..]),
            Inode: BitConverter.ToUInt64(span[32..]),
            Device: ((ulong)BitConverter.ToUInt32(span[136..]) << 32)
                | BitConverter.ToUInt32(span[140..]),
            DeviceMajor: (int)BitConverter.ToUInt32(span[128..]),
            DeviceMinor: (int)BitConverter.ToUInt32(span[132..]),
            Size: (long)BitConverter.ToUInt64(span[40..]),
            ModifiedSeconds: BitConverter.ToInt64(span[112..]))
        {
            ChangedNanoseconds = (BitConverter.ToInt64(span[96..]) * 1_000_000_000)
                + BitConverter.ToUInt32(span[104..]),
        };
    }

    /// <summary>
    /// The file capabilities of the path (its <c>security.capability</c> attribute); null
    /// when it has none or the file system keeps no extended attributes.
    /// </summary>
    public static byte[]? ReadCapabilities(string path)
    {
        var name = Native.Path(CapabilityAttribute);
        var buffer = new byte[256];
        var length = Native.LGetXattr(Native.Path(path), name, buffer, buffer.Length);
        return length < 0 ? null : buffer[..(int)length];
    }

    private const int AtCurrentDirectory = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint BasicStats = 0x7FF;

    private static class Native
    {
        // glibc's soname: plain "libc" would look for the development symlink libc.so.
        private const string Libc = "libc.so.6";

        [DllImport(Libc, EntryPoint = "statx", SetLastError = true)]
        public static extern int Statx(int directory, byte[] path, int flags, uint mask,
            byte[] record);

        [DllImport(Libc, EntryPoint = "lgetxattr", SetLastError = true)]
        public static extern nint LGetXattr(byte[] path, byte[] name, byte[] value, nint size);

        // Paths go as NUL-terminated UTF-8 bytes, the kernel's own form of a file name.
        public static byte[] Path(string path) => [.. System.Text.Encoding.UTF8.GetBytes(path), 0];

        public static IOException Failure(string call, string path) =>
            new($"{call} '{path}': {Marshal.GetLastPInvokeErrorMessage()}",
                Marshal.GetLastPInvokeError());
    }
}
