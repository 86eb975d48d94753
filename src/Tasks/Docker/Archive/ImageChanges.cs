using System.Text;
using System.Text.Json;
using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>
/// Applies Dockerfile-style changes, the ones <c>docker import --change</c> accepts, to an
/// image configuration: <c>ENV</c>, <c>LABEL</c>, <c>CMD</c>, <c>ENTRYPOINT</c>,
/// <c>WORKDIR</c>, <c>USER</c> and <c>EXPOSE</c>. <c>CMD</c> and <c>ENTRYPOINT</c> take the
/// JSON form or the shell form; <c>ENV</c> and <c>LABEL</c> take <c>key=value</c> pairs with
/// optional double quotes, and <c>ENV</c> also the older <c>ENV key value</c>.
/// </summary>
public static class ImageChanges
{
    /// <summary>The instructions understood.</summary>
    public static IReadOnlyList<string> Supported { get; } =
        ["ENV", "LABEL", "CMD", "ENTRYPOINT", "WORKDIR", "USER", "EXPOSE"];

    /// <summary>The configuration with every change applied, in order.</summary>
    /// <param name="config">The configuration to start from.</param>
    /// <param name="changes">The changes, one instruction each.</param>
    /// <param name="source">Names what is being imported, for an error (DTV3002).</param>
    /// <param name="reference">Names the image, as repository:tag, for an error.</param>
    /// <exception cref="DtvException">DTV3002 when a change cannot be understood.</exception>
    public static ImageConfig Apply(ImageConfig config, IEnumerable<string> changes,
        string source, string reference)
    {
        foreach (var change in changes.Select(c => c.Trim()).Where(c => c.Length > 0))
        {
            var space = change.IndexOfAny([' ', '\t']);
            var instruction = (space < 0 ? change : change[..space]).ToUpperInvariant();
            var argument = space < 0 ? string.Empty : change[(space + 1)..].Trim();
            try
            {
                config = Apply(config, instruction, argument);
            }
            catch (FormatException e)
            {
                throw new DtvException("ImportFailed", source, reference,
                    $"the change '{change}' {e.Message}");
            }
        }

        return config;
    }

    private static ImageConfig Apply(ImageConfig config, string instruction, string argument)
    {
        if (argument.Length == 0)
        {
            throw new FormatException("has no value");
        }

        return instruction switch
        {
            "ENV" => config with
            {
                Environment = SetVariables(config.Environment, Pairs(argument, true)),
            },
            "LABEL" => config with { Labels = SetLabels(config.Labels, Pairs(argument, false)) },
            "CMD" => config with { Cmd = Command(argument) },
            "ENTRYPOINT" => config with { Entrypoint = Command(argument) },
            "WORKDIR" => config with { WorkingDirectory = argument },
            "USER" => config with { User = argument },
            "EXPOSE" => config with
            {
                ExposedPorts = [.. config.ExposedPorts, .. Words(argument)
                    .Select(p => p.Contains('/', StringComparison.Ordinal) ? p : p + "/tcp")],
            },
            _ => throw new FormatException(
                "is not one of " + string.Join(", ", Supported)),
        };
    }

    private static List<string> SetVariables(IReadOnlyList<string> environment,
        List<KeyValuePair<string, string>> pairs)
    {
        var result = environment.ToList();
        foreach (var (name, value) in pairs)
        {
            result.RemoveAll(e => e.StartsWith(name + "=", StringComparison.Ordinal));
            result.Add($"{name}={value}");
        }

        return result;
    }

    private static Dictionary<string, string> SetLabels(IReadOnlyDictionary<string, string> labels,
        List<KeyValuePair<string, string>> pairs)
    {
        var result = labels.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var (key, value) in pairs)
        {
            result[key] = value;
        }

        return result;
    }

    // The JSON form is taken as it is; the shell form runs through /bin/sh -c, as in a
    // Dockerfile.
    private static List<string> Command(string argument)
    {
        if (!argument.StartsWith('['))
        {
            return ["/bin/sh", "-c", argument];
        }

        try
        {
            return JsonSerializer.Deserialize<List<string>>(argument)
                ?? throw new FormatException("is not a JSON array of strings");
        }
        catch (JsonException)
        {
            throw new FormatException("is not a JSON array of strings");
        }
    }

    private static List<KeyValuePair<string, string>> Pairs(string argument, bool allowLegacy)
    {
        var words = Words(argument);
        if (allowLegacy && !words[0].Contains('=', StringComparison.Ordinal))
        {
            // ENV NAME the rest of the line
            var space = argument.IndexOfAny([' ', '\t']);
            return space < 0
                ? throw new FormatException("has a name but no value")
                : [new(argument[..space], argument[(space + 1)..].Trim())];
        }

        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var word in words)
        {
            var equals = word.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"has '{word}' where key=value was expected");
            }

            pairs.Add(new(word[..equals], word[(equals + 1)..]));
        }

        return pairs;
    }

    // Splits at blanks outside double quotes; a backslash takes the next character as it is.
    private static List<string> Words(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var quoted = false;
        var started = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length)
            {
                word.Append(text[++i]);
                started = true;
            }
            else if (c == '"')
            {
                quoted = !quoted;
                started = true;
            }
            else if (!quoted && (c == ' ' || c == '\t'))
            {
                if (started)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    started = false;
                }
            }
            else
            {
                word.Append(c);
                started = true;
            }
        }

        if (quoted)
        {
            throw new FormatException("has an unclosed quote");
        }

        if (started)
        {
            words.Add(word.ToString());
        }

        return words;
    }
}
