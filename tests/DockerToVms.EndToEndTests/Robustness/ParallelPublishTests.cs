using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Robustness;

/// <summary>
/// Two publishes of one recipe at once, as two projects of a solution built with -m or two
/// CI jobs on one machine: one bootstraps and imports, the other waits, says for what, and
/// reuses both.
/// </summary>
[TestClass]
public sealed partial class ParallelPublishTests
{
    private const string Program = "Console.WriteLine(\"parallel \" + args.Length);";

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(1_500_000, CooperativeCancellation = true)]
    public async Task Two_publishes_of_one_recipe_at_once_bootstrap_once_and_import_once()
    {
        var cache = Directory.CreateTempSubdirectory("dtv-e2e-parallel-cache-").FullName;
        var baseRepository = $"dtv-e2e-parallel-{Guid.NewGuid():N}"[..25] + "-base";
        // A recipe with nothing to install in the chroot keeps the cold bootstrap short.
        string[] settings =
        [
            $"-p:BaseImageCacheDirectory={cache}", $"-p:BaseImageRepository={baseRepository}",
            "-p:BaseImageIncludeDotNetDependencies=false", "-p:InvariantGlobalization=true",
        ];
        try
        {
            await using var first = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);
            await using var second = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);

            var both = await Task.WhenAll(TimedAsync(() => first.PublishAsync(settings)),
                TimedAsync(() => second.PublishAsync(settings)));

            foreach (var (run, _) in both)
            {
                Assert.AreEqual(0, run.ExitCode, run.Tail);
            }

            var outputs = both.Select(b => b.Result.Output).ToList();
            Assert.AreEqual(1, outputs.Count(o => o.Contains("bootstrap took",
                StringComparison.Ordinal)), "one bootstrap between the two\n" + both[1].Result.Tail);
            Assert.AreEqual(1, outputs.Count(o => o.Contains("imported the base image",
                StringComparison.Ordinal)), "one import between the two");
            var waiter = both.Single(b => !b.Result.Output.Contains("bootstrap took",
                StringComparison.Ordinal));
            StringAssert.Contains(waiter.Result.Output, "waiting for", waiter.Result.Tail);
            StringAssert.Contains(waiter.Result.Output, "was built by another build",
                waiter.Result.Tail);
            var baseImages = await Shell.CheckAsync("/", "docker", "images", "-q", "--filter",
                $"reference={baseRepository}");
            Assert.HasCount(1, baseImages.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Distinct(), "one base image, no duplicate from a second import");
            StringAssert.Contains(await first.RunImageAsync(), "parallel 0");
            StringAssert.Contains(await second.RunImageAsync(), "parallel 0");

            // What waiting costs: the waiter against a publish that finds everything ready.
            await using var third = await UserProject.CreateAsync("Microsoft.NET.Sdk", Program);
            var warm = await TimedAsync(() => third.PublishAsync(settings));
            Assert.AreEqual(0, warm.Result.ExitCode, warm.Result.Tail);
            var bootstrapper = both.Single(b => b != waiter);
            Report(bootstrapper.Elapsed, waiter.Elapsed, WaitedSeconds(waiter.Result.Output),
                warm.Elapsed);
        }
        finally
        {
            await UserProject.RemoveImagesAsync(baseRepository);
            Directory.Delete(cache, recursive: true);
        }
    }

    private void Report(TimeSpan bootstrapping, TimeSpan waiting, double waited, TimeSpan warm)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"parallel publishes: the bootstrapping one took {bootstrapping.TotalSeconds:0} s, "
            + $"the waiting one {waiting.TotalSeconds:0} s (of which {waited:0} s waiting for "
            + $"the cache entry), a warm publish {warm.TotalSeconds:0} s");
        TestContext.WriteLine(line);
        Console.WriteLine(line);
    }

    private static double WaitedSeconds(string output)
    {
        var match = WaitedPattern().Match(output);
        return match.Success
            ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
            : double.NaN;
    }

    private static async Task<(CommandResult Result, TimeSpan Elapsed)> TimedAsync(
        Func<Task<CommandResult>> run)
    {
        var clock = Stopwatch.StartNew();
        var result = await run();
        return (result, clock.Elapsed);
    }

    [GeneratedRegex(@"waiting for the cache entry took ([0-9.]+) s")]
    private static partial Regex WaitedPattern();
}
