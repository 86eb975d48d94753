using System.Globalization;

namespace DockerToVms.Tasks.Execution;

/// <summary>
/// A failure that the user can fix, carried from the logic to the task shell. It names a
/// message in the resource file; the shell logs it as a coded MSBuild error.
/// </summary>
public sealed class DtvException : Exception
{
    /// <summary>Creates the exception for a message of the resource file.</summary>
    public DtvException(string resourceName, params object?[] arguments)
        : base(Messages.Format(resourceName, arguments))
    {
        ResourceName = resourceName;
        Arguments = arguments;
    }

    /// <summary>The name of the message in the resource file.</summary>
    public string ResourceName { get; }

    /// <summary>The values the message is formatted with.</summary>
    public IReadOnlyList<object?> Arguments { get; }

    /// <summary>The code the message starts with, such as <c>DTV1001</c>.</summary>
    public string Code => Messages.CodeOf(Message);
}

/// <summary>Reads messages from the resource file.</summary>
public static class Messages
{
    private static readonly System.Resources.ResourceManager s_resources =
        new("DockerToVms.Tasks.Resources.Strings", typeof(Messages).Assembly);

    /// <summary>The resource manager that the tasks log from.</summary>
    public static System.Resources.ResourceManager Resources => s_resources;

    /// <summary>Formats one message with its arguments.</summary>
    public static string Format(string resourceName, params object?[] arguments)
    {
        var text = s_resources.GetString(resourceName, CultureInfo.CurrentUICulture)
            ?? throw new ArgumentException($"No message named '{resourceName}'.", nameof(resourceName));
        return string.Format(CultureInfo.CurrentCulture, text, arguments);
    }

    /// <summary>The leading <c>DTVnnnn</c> code of a message, or an empty string.</summary>
    public static string CodeOf(string message)
    {
        var colon = message.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && message.StartsWith("DTV", StringComparison.Ordinal)
            ? message[..colon]
            : string.Empty;
    }
}
