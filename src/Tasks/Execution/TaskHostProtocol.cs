using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Execution;

/// <summary>
/// What passes between a task in the build and the same task run by the task host in a user
/// namespace: the task's parameters going in, and its log events and outputs coming back,
/// each as one line of JSON. Parameters are the task's public settable properties of the
/// types MSBuild gives tasks; outputs are its [Output] properties.
/// </summary>
public static class TaskHostProtocol
{
    /// <summary>The event kinds the host writes.</summary>
    public const string Error = "error";

    /// <inheritdoc cref="Error" />
    public const string Warning = "warning";

    /// <inheritdoc cref="Error" />
    public const string Message = "message";

    /// <inheritdoc cref="Error" />
    public const string Outputs = "outputs";

    /// <summary>The request that runs <paramref name="task"/> with its parameters.</summary>
    public static string WriteRequest(ITask task, string workingDirectory)
    {
        var parameters = new JsonObject();
        foreach (var property in Parameters(task.GetType()))
        {
            parameters[property.Name] = ToJson(property.GetValue(task));
        }

        return new JsonObject
        {
            ["type"] = task.GetType().AssemblyQualifiedName,
            ["directory"] = workingDirectory,
            ["parameters"] = parameters,
        }.ToJsonString();
    }

    /// <summary>Makes the requested task and gives it its parameters.</summary>
    /// <returns>The task and the directory it runs in.</returns>
    public static (ITask Task, string Directory) ReadRequest(string line)
    {
        var request = JsonNode.Parse(line)!.AsObject();
        var type = Type.GetType((string)request["type"]!, throwOnError: true)!;
        var task = (ITask)Activator.CreateInstance(type)!;
        var parameters = request["parameters"]!.AsObject();
        foreach (var property in Parameters(type))
        {
            if (parameters.TryGetPropertyValue(property.Name, out var value))
            {
                property.SetValue(task, FromJson(value, property.PropertyType));
            }
        }

        return (task, (string)request["directory"]!);
    }

    /// <summary>The line that carries the task's outputs after it ran.</summary>
    public static string WriteOutputs(ITask task)
    {
        var values = new JsonObject();
        foreach (var property in OutputProperties(task.GetType()))
        {
            values[property.Name] = ToJson(property.GetValue(task));
        }

        return new JsonObject { ["event"] = Outputs, ["values"] = values }.ToJsonString();
    }

    /// <summary>Sets the outputs a host reported on the task in the build.</summary>
    public static void ReadOutputs(JsonObject line, ITask task)
    {
        var values = line["values"]!.AsObject();
        foreach (var property in OutputProperties(task.GetType()))
        {
            if (values.TryGetPropertyValue(property.Name, out var value))
            {
                property.SetValue(task, FromJson(value, property.PropertyType));
            }
        }
    }

    /// <summary>An error or warning as a line.</summary>
    public static string WriteDiagnostic(string kind, string? code, string? file, int line,
        int column, string? message) =>
        new JsonObject
        {
            ["event"] = kind,
            ["code"] = code,
            ["file"] = file,
            ["line"] = line,
            ["column"] = column,
            ["message"] = message,
        }.ToJsonString();

    /// <summary>A message as a line.</summary>
    public static string WriteMessage(MessageImportance importance, string? message) =>
        new JsonObject
        {
            ["event"] = Message,
            ["importance"] = (int)importance,
            ["message"] = message,
        }.ToJsonString();

    /// <summary>
    /// Logs one event line from a host into the build, as if the task had logged it there.
    /// </summary>
    /// <returns>The outputs line, which is not an event; null for any other line.</returns>
    public static JsonObject? Replay(JsonObject line, TaskLoggingHelper log)
    {
        var message = (string?)line["message"] ?? string.Empty;
        switch ((string?)line["event"])
        {
            case Error:
                log.LogError(null, (string?)line["code"], null, NullIfEmpty(line["file"]),
                    (int)line["line"]!, (int)line["column"]!, 0, 0, message);
                return null;
            case Warning:
                log.LogWarning(null, (string?)line["code"], null, NullIfEmpty(line["file"]),
                    (int)line["line"]!, (int)line["column"]!, 0, 0, message);
                return null;
            case Message:
                log.LogMessage((MessageImportance)(int)line["importance"]!, message);
                return null;
            case Outputs:
                return line;
            default:
                return null;
        }
    }

    /// <summary>The properties the build sets on a task of this type.</summary>
    public static IEnumerable<PropertyInfo> Parameters(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetSetMethod() is not null && p.GetGetMethod() is not null
                && p.DeclaringType != typeof(Microsoft.Build.Utilities.Task)
                && p.GetCustomAttribute<OutputAttribute>() is null
                && IsSupported(p.PropertyType));

    private static IEnumerable<PropertyInfo> OutputProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<OutputAttribute>() is not null
                && IsSupported(p.PropertyType));

    private static bool IsSupported(Type type) =>
        type == typeof(string) || type == typeof(bool) || type == typeof(int)
        || type == typeof(long) || type == typeof(string[]) || type == typeof(ITaskItem)
        || type == typeof(ITaskItem[]);

    private static string? NullIfEmpty(JsonNode? node) =>
        (string?)node is { Length: > 0 } text ? text : null;

    private static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        string text => text,
        bool flag => flag,
        int number => number,
        long number => number,
        string[] texts => new JsonArray([.. texts.Select(t => (JsonNode?)t)]),
        ITaskItem item => ItemToJson(item),
        ITaskItem[] items => new JsonArray([.. items.Select(ItemToJson)]),
        _ => throw new NotSupportedException(value.GetType().Name),
    };

    private static object? FromJson(JsonNode? node, Type type)
    {
        if (node is null)
        {
            return null;
        }

        if (type == typeof(string[]))
        {
            return node.AsArray().Select(n => (string)n!).ToArray();
        }

        if (type == typeof(ITaskItem))
        {
            return ItemFromJson(node);
        }

        if (type == typeof(ITaskItem[]))
        {
            return node.AsArray().Select(n => ItemFromJson(n!)).ToArray();
        }

        return node.Deserialize(type);
    }

    private static JsonNode ItemToJson(ITaskItem item)
    {
        var metadata = new JsonObject();
        foreach (System.Collections.DictionaryEntry entry in item.CloneCustomMetadata())
        {
            metadata[(string)entry.Key] = (string?)entry.Value;
        }

        return new JsonObject { ["spec"] = item.ItemSpec, ["metadata"] = metadata };
    }

    // TaskItem takes its item spec and metadata in MSBuild's escaped form, in which only a
    // '%' followed by two hex digits changes meaning; escaping every '%' keeps the text as is.
    private static TaskItem ItemFromJson(JsonNode node)
    {
        var metadata = node["metadata"]!.AsObject().ToDictionary(p => p.Key,
            p => Escape((string?)p.Value ?? string.Empty), StringComparer.OrdinalIgnoreCase);
        return new TaskItem(Escape((string)node["spec"]!), metadata);
    }

    private static string Escape(string text) =>
        text.Replace("%", "%25", StringComparison.Ordinal);
}
