namespace DockerToVms.Tasks.Execution;

/// <summary>
/// Recognises a full file system, in a tool's output and in the exceptions of this library's
/// own file work, so that it is reported as such (DTV9008) instead of as a tool's failure.
/// </summary>
public static class DiskFull
{
    // ENOSPC; .NET carries the errno of a failed call in the exception's HResult on Linux.
    private const int NoSpace = 28;

    // What the C library says for ENOSPC, in the messages of tar, dpkg, apt, cp and wget.
    private const string NoSpaceText = "No space left on device";

    /// <summary>Whether a line of output says that the disk is full.</summary>
    public static bool Matches(string line) =>
        line.Contains(NoSpaceText, StringComparison.OrdinalIgnoreCase);

    /// <summary>The line of a finished command that said the disk was full, or null.</summary>
    public static string? LineIn(ToolResult result) =>
        result.DiskFullLine ?? result.LastLines.FirstOrDefault(Matches);

    /// <summary>Whether the exception comes from a write to a full file system.</summary>
    public static bool Is(IOException e) => e.HResult == NoSpace || Matches(e.Message);

    /// <summary>The path the exception names (.NET quotes it at the end), or the message.</summary>
    public static string PathIn(IOException e)
    {
        var message = e.Message;
        var end = message.LastIndexOf('\'');
        var start = end > 0 ? message.LastIndexOf('\'', end - 1) : -1;
        return start >= 0 ? message[(start + 1)..end] : message;
    }
}
