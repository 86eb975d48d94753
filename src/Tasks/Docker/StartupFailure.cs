using System.Text.RegularExpressions;

namespace DockerToVms.Tasks.Docker;

/// <summary>
/// Recognises, in what an app printed before it exited, that it could not start because a
/// library was missing: the dynamic loader's own message, .NET's message for a library a
/// P/Invoke or NativeLibrary.Load asked for, and its messages for ICU and OpenSSL.
/// </summary>
public static partial class StartupFailure
{
    /// <summary>The library the output says is missing, or null when it says none is.</summary>
    public static string? MissingLibrary(string output)
    {
        if (LoaderPattern().Match(output) is { Success: true } loader)
        {
            return loader.Groups["name"].Value.Trim();
        }

        if (DotNetPattern().Match(output) is { Success: true } dotnet)
        {
            return dotnet.Groups["name"].Value;
        }

        if (output.Contains("Couldn't find a valid ICU package", StringComparison.Ordinal))
        {
            return "ICU (libicuuc.so)";
        }

        return output.Contains("No usable version of libssl was found", StringComparison.Ordinal)
            ? "libssl"
            : null;
    }

    [GeneratedRegex(@"error while loading shared libraries: (?<name>[^:\n]+): cannot open")]
    private static partial Regex LoaderPattern();

    [GeneratedRegex(@"Unable to load shared library '(?<name>[^']+)'")]
    private static partial Regex DotNetPattern();
}
