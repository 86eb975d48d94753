using System.Formats.Tar;
using System.Text;
using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.Robustness;

/// <summary>The leak check every test image goes through finds what it is meant to find.</summary>
[TestClass]
public sealed class ImageLeakCheckTests
{
    [TestMethod]
    public async Task The_check_finds_the_canary_a_build_path_and_a_build_time_file()
    {
        var repository = $"dtv-e2e-leak-{Guid.NewGuid():N}"[..24];
        var archive = Path.GetTempFileName();
        try
        {
            await using (var file = File.Create(archive))
            {
                await using var tar = new TarWriter(file, TarEntryFormat.Pax);
                await Add(tar, "etc/environment", $"{BuildCanary.Name}={BuildCanary.Value}\n");
                await Add(tar, "app/settings.json", "{\"root\":\"/tmp/dtv-e2e-abc/Hello\"}");
                await Add(tar, "usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n");
                await Add(tar, "etc/hostname", "localhost\n");
            }

            await Shell.CheckAsync("/", "docker", "import", archive, repository);

            var leaks = await ImageLeaks.FindAsync([repository], ["/tmp/dtv-e2e-"]);

            Assert.HasCount(3, leaks, string.Join('\n', leaks));
            Assert.IsTrue(leaks.Any(l => l.Contains("canary", StringComparison.Ordinal)));
            Assert.IsTrue(leaks.Any(l => l.Contains("app/settings.json", StringComparison.Ordinal)));
            Assert.IsTrue(leaks.Any(l => l.Contains("policy-rc.d", StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(archive);
            await Shell.RunAsync("/", "docker", "rmi", "-f", repository);
        }
    }

    private static async Task Add(TarWriter tar, string name, string content)
    {
        using var data = new MemoryStream(Encoding.UTF8.GetBytes(content));
        await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = data,
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead
                | UnixFileMode.OtherRead,
        });
    }
}
