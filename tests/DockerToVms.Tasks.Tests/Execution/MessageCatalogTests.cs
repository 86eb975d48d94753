using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace DockerToVms.Tasks.Tests.Execution;

/// <summary>
/// The resource file as a whole: every coded message has a unique four-digit code in the
/// band of its area, and every message the code names exists.
/// </summary>
[TestClass]
public sealed partial class MessageCatalogTests
{
    // The bands the resource file's header and docs/errors.md describe.
    private static readonly Dictionary<char, string> s_bands = new()
    {
        ['1'] = "Bootstrap",
        ['2'] = "Chroot",
        ['3'] = "Docker",
        ['4'] = "Qemu",
        ['5'] = "Vm",
        ['6'] = "Export",
        ['9'] = "configuration",
    };

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null;
            folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "DockerToVms.sln"))
                || File.Exists(Path.Combine(folder.FullName, "Directory.Packages.props")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException(
            "No repository root above " + AppContext.BaseDirectory);
    }

    private static string TasksFolder => Path.Combine(RepositoryRoot(), "src", "Tasks");

    private static List<(string Name, string Value, string? Comment)> Messages() =>
        [.. XDocument.Load(Path.Combine(TasksFolder, "Resources", "Strings.resx"))
            .Root!.Elements("data")
            .Select(d => ((string)d.Attribute("name")!, (string)d.Element("value")!,
                (string?)d.Element("comment")))];

    private static List<(string Name, string Value, string? Comment)> CodedMessages() =>
        [.. Messages().Where(m => m.Value.StartsWith("DTV", StringComparison.Ordinal))];

    // The message names the source passes to DtvException and the logging helpers, with the
    // folder (area) of each file that uses it.
    private static List<(string Name, string Area)> UsedNames() =>
        [.. Directory.EnumerateFiles(TasksFolder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal)
                && !f.Contains("/bin/", StringComparison.Ordinal))
            .SelectMany(f => UsePattern().Matches(File.ReadAllText(f))
                .Select(m => (m.Groups["name"].Value,
                    Path.GetRelativePath(TasksFolder, f).Split('/')[0])))];

    private const string Use = @"(?:new\s+DtvException|FromResources)\(\s*"
        + @"(?:MessageImportance\.\w+,\s*)?""(?<name>\w+)""";

    [GeneratedRegex(Use)]
    private static partial Regex UsePattern();

    [GeneratedRegex(@"^DTV(?<number>\d{4}): ")]
    private static partial Regex CodePattern();

    [TestMethod]
    public void The_catalog_is_found_and_has_coded_messages()
    {
        Assert.IsTrue(CodedMessages().Count >= 30, $"{CodedMessages().Count} coded messages");
        Assert.IsTrue(UsedNames().Count >= 30, $"{UsedNames().Count} uses");
    }

    [TestMethod]
    public void Every_coded_message_starts_with_a_four_digit_code_and_a_colon()
    {
        var bad = CodedMessages().Where(m => !CodePattern().IsMatch(m.Value))
            .Select(m => m.Name).ToList();

        Assert.AreEqual(0, bad.Count, "without DTVnnnn: " + string.Join(", ", bad));
    }

    [TestMethod]
    public void Every_coded_message_keeps_its_code_for_translators()
    {
        var bad = CodedMessages()
            .Where(m => m.Comment != $"{{StrBegins=\"{m.Value[..9]}\"}}")
            .Select(m => m.Name).ToList();

        Assert.AreEqual(0, bad.Count, "comment without StrBegins: " + string.Join(", ", bad));
    }

    [TestMethod]
    public void Progress_messages_carry_no_translator_comment()
    {
        var bad = Messages()
            .Where(m => !m.Value.StartsWith("DTV", StringComparison.Ordinal)
                && m.Comment is not null)
            .Select(m => m.Name).ToList();

        Assert.AreEqual(0, bad.Count, string.Join(", ", bad));
    }

    [TestMethod]
    public void No_code_is_used_twice()
    {
        var twice = CodedMessages().GroupBy(m => m.Value[..7])
            .Where(g => g.Count() > 1)
            .Select(g => g.Key + " (" + string.Join(", ", g.Select(m => m.Name)) + ")")
            .ToList();

        Assert.AreEqual(0, twice.Count, string.Join("; ", twice));
    }

    [TestMethod]
    public void No_message_name_is_used_twice()
    {
        var twice = Messages().GroupBy(m => m.Name).Where(g => g.Count() > 1)
            .Select(g => g.Key).ToList();

        Assert.AreEqual(0, twice.Count, string.Join(", ", twice));
    }

    [TestMethod]
    public void Every_code_is_in_one_of_the_bands()
    {
        var bad = CodedMessages().Where(m => !s_bands.ContainsKey(m.Value[3]))
            .Select(m => m.Value[..7] + " " + m.Name).ToList();

        Assert.AreEqual(0, bad.Count, string.Join(", ", bad));
    }

    // Configuration mistakes (9xxx) are found wherever a setting is read; any other coded
    // message that only one area's folder uses belongs to that area's band.
    [TestMethod]
    public void A_message_used_by_one_area_only_has_that_area_band()
    {
        var codes = CodedMessages().ToDictionary(m => m.Name, m => m.Value[3]);
        var bad = new List<string>();
        foreach (var uses in UsedNames().GroupBy(u => u.Name))
        {
            var areas = uses.Select(u => u.Area).Distinct().ToList();
            if (areas.Count == 1 && codes.TryGetValue(uses.Key, out var band) && band != '9'
                && s_bands.ContainsValue(areas[0]) && s_bands[band] != areas[0])
            {
                bad.Add($"{uses.Key} ({band}xxx) used only in {areas[0]}");
            }
        }

        Assert.AreEqual(0, bad.Count, string.Join(", ", bad));
    }

    [TestMethod]
    public void Every_message_the_code_uses_exists()
    {
        var names = Messages().Select(m => m.Name).ToHashSet();
        var missing = UsedNames().Select(u => u.Name).Distinct()
            .Where(n => !names.Contains(n)).ToList();

        Assert.AreEqual(0, missing.Count,
            "missing from Strings.resx: " + string.Join(", ", missing));
    }

    [TestMethod]
    public void Every_code_is_explained_in_the_error_reference()
    {
        var reference = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "errors.md"));
        var missing = CodedMessages().Select(m => m.Value[..7])
            .Where(code => !reference.Contains($"| {code} |", StringComparison.Ordinal))
            .ToList();

        Assert.AreEqual(0, missing.Count,
            "not in docs/errors.md: " + string.Join(", ", missing));
    }
}
