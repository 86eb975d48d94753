using System.Diagnostics;

namespace DockerToVms.IntegrationTests.Infrastructure;

/// <summary>
/// A lock that the test processes of one machine share, for state the kernel keeps for the
/// whole machine. The integration and end-to-end assemblies run at the same time, and a test
/// that restores binfmt_misc must not remove a registration that a build in the other one is
/// using.
/// </summary>
public sealed class MachineLock : IDisposable
{
    /// <summary>The name of the lock that guards binfmt_misc registrations.</summary>
    public const string Binfmt = "binfmt";

    private readonly FileStream _file;

    private MachineLock(FileStream file) => _file = file;

    /// <summary>Waits until the lock is free and takes it.</summary>
    /// <exception cref="IOException">The lock stayed taken for longer than the timeout.</exception>
    public static MachineLock Acquire(string name, TimeSpan timeout)
    {
        var path = Path.Combine(Path.GetTempPath(), $"dockertovms-tests-{name}.lock");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                // On Linux, FileShare.None takes an exclusive flock on the file, which
                // another process then cannot take until this handle is closed, or its
                // process ends, however it ends.
                return new MachineLock(new FileStream(path, FileMode.OpenOrCreate,
                    FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (clock.Elapsed < timeout)
            {
                Thread.Sleep(TimeSpan.FromMilliseconds(250));
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
