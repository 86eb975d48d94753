using System.Runtime.InteropServices;

namespace DockerToVms.Tasks.Export;

/// <summary>
/// The two file system calls .NET does not offer: changing the owner of a path without
/// following a link at its end, and making a hard link. Both act on the path itself.
/// </summary>
internal static class NativeMethods
{
    // glibc's soname: plain "libc" would make the loader look for the development symlink
    // libc.so, which is a linker script where it exists at all.
    private const string Libc = "libc.so.6";

    // Paths go as NUL-terminated UTF-8 bytes, the kernel's own form of a file name.
    [DllImport(Libc, EntryPoint = "lchown", SetLastError = true)]
    private static extern int LChown(byte[] path, uint owner, uint group);

    [DllImport(Libc, EntryPoint = "link", SetLastError = true)]
    private static extern int Link(byte[] existing, byte[] created);

    /// <summary>Sets the numeric owner and group of the path, not of what a link points to.</summary>
    public static void SetOwner(string path, int owner, int group)
    {
        if (LChown(Native(path), (uint)owner, (uint)group) != 0)
        {
            throw Failure("lchown", path);
        }
    }

    /// <summary>Makes <paramref name="created"/> a second name of <paramref name="existing"/>.</summary>
    public static void HardLink(string existing, string created)
    {
        if (Link(Native(existing), Native(created)) != 0)
        {
            throw Failure("link", created);
        }
    }

    private static byte[] Native(string path) =>
        [.. System.Text.Encoding.UTF8.GetBytes(path), 0];

    private static IOException Failure(string call, string path) =>
        new($"{call} '{path}': {Marshal.GetLastPInvokeErrorMessage()}",
            Marshal.GetLastPInvokeError());
}
