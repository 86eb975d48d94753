using System.Text.Json;

namespace DockerToVms.Tasks.Sbom;

/// <summary>A NuGet package the published app carries.</summary>
/// <param name="Name">The package id.</param>
/// <param name="Version">The package version.</param>
/// <param name="Sha512">The package's SHA-512 as lower-case hex; empty when not recorded.</param>
public sealed record NuGetPackage(string Name, string Version, string Sha512);

/// <summary>
/// Reads the NuGet packages an app was published with from its <c>.deps.json</c>: the
/// <c>libraries</c> of type <c>package</c>, and the .NET runtime pack of a self-contained
/// app (type <c>runtimepack</c>), which is a NuGet package too. Projects are the app itself
/// and are left out.
/// </summary>
public static class NuGetDependencies
{
    private const string RuntimePackPrefix = "runtimepack.";
    private const string Sha512Prefix = "sha512-";

    /// <summary>The packages, ordered by id and version.</summary>
    /// <exception cref="JsonException">When the file is not JSON.</exception>
    public static IReadOnlyList<NuGetPackage> Read(string depsFile)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(depsFile));
        if (!document.RootElement.TryGetProperty("libraries", out var libraries)
            || libraries.ValueKind != JsonValueKind.Object)
        {
            return [];
        }

        var packages = new List<NuGetPackage>();
        foreach (var library in libraries.EnumerateObject())
        {
            var type = library.Value.TryGetProperty("type", out var t) ? t.GetString() : null;
            var slash = library.Name.LastIndexOf('/');
            if (type is not ("package" or "runtimepack") || slash <= 0)
            {
                continue;
            }

            var name = library.Name[..slash];
            if (type == "runtimepack" && name.StartsWith(RuntimePackPrefix, StringComparison.Ordinal))
            {
                name = name[RuntimePackPrefix.Length..];
            }

            packages.Add(new NuGetPackage(name, library.Name[(slash + 1)..],
                Sha512Of(library.Value)));
        }

        return [.. packages.OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
            .ThenBy(p => p.Version, StringComparer.Ordinal)];
    }

    private static string Sha512Of(JsonElement library)
    {
        var text = library.TryGetProperty("sha512", out var value) ? value.GetString() : null;
        if (text is null || !text.StartsWith(Sha512Prefix, StringComparison.Ordinal))
        {
            return string.Empty;
        }

        try
        {
            return Convert.ToHexString(Convert.FromBase64String(text[Sha512Prefix.Length..]))
                .ToLowerInvariant();
        }
        catch (FormatException)
        {
            return string.Empty;
        }
    }
}
