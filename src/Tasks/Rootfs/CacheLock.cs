using System.Globalization;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Rootfs;

/// <summary>
/// An exclusive lock on one lock file, held through the kernel: .NET takes <c>flock</c> for a
/// file opened with <see cref="FileShare.None"/> on Linux. The kernel drops it when the
/// process ends, however it ends, so a build that was killed never blocks the next one, and a
/// process id that is reused later cannot keep it alive.
/// </summary>
public sealed class CacheLock : IDisposable
{
    // flock answers EWOULDBLOCK (11 on Linux) while another open file holds the lock.
    private const int WouldBlock = 11;

    private static readonly TimeSpan s_firstPoll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_longestPoll = TimeSpan.FromSeconds(2);

    private readonly FileStream _file;

    private CacheLock(string path, FileStream file)
    {
        Path = path;
        _file = file;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>
    /// The file beside the lock file that names its holder. It is only for messages: the
    /// kernel's lock decides, and the file may name a holder that has already ended.
    /// </summary>
    public static string OwnerFileOf(string lockFile) =>
        System.IO.Path.ChangeExtension(lockFile, ".owner");

    /// <summary>Takes the lock if nobody holds it, or returns null.</summary>
    public static CacheLock? TryAcquire(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite,
                FileShare.None);
        }
        catch (IOException e) when (IsHeldElsewhere(e))
        {
            return null;
        }

        return new CacheLock(path, file);
    }

    /// <summary>
    /// Takes the lock, waiting as long as another build holds it. <paramref name="waiting"/>
    /// is called once, before the first wait, with what the owner file says about the holder.
    /// </summary>
    public static async Task<CacheLock> AcquireAsync(string path, string purpose,
        Action<string> waiting, CancellationToken cancellation)
    {
        var poll = s_firstPoll;
        var told = false;
        while (true)
        {
            if (TryAcquire(path) is { } taken)
            {
                taken.WriteOwner(purpose);
                return taken;
            }

            if (!told)
            {
                waiting(ReadOwner(path));
                told = true;
            }

            await Task.Delay(poll, cancellation).ConfigureAwait(false);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, s_longestPoll.Ticks));
        }
    }

    /// <summary>What the owner file says about the holder, or a placeholder.</summary>
    public static string ReadOwner(string lockFile)
    {
        try
        {
            var text = File.ReadAllText(OwnerFileOf(lockFile)).Trim();
            return text.Length > 0 ? text : "another build";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "another build";
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _file.Dispose();

    private void WriteOwner(string purpose)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"process {Environment.ProcessId} ({purpose}) since {DateTime.Now:HH:mm:ss}");
        try
        {
            File.WriteAllText(OwnerFileOf(Path), text + "\n", HostTools.Utf8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only messages read it; the lock is held all the same.
        }
    }

    private static bool IsHeldElsewhere(IOException e) => e.HResult == WouldBlock;
}
