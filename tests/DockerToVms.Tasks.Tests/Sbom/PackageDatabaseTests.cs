using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Sbom;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Sbom;

/// <summary>Scanners read the image's package database, so trimming must keep it.</summary>
[TestClass]
public sealed class PackageDatabaseTests
{
    [TestMethod]
    public void Every_trim_level_keeps_the_package_status()
    {
        foreach (var level in Enum.GetValues<TrimLevel>())
        {
            using var root = new TemporaryDirectory("dtv-status-");
            root.Write(DpkgStatus.StatusFile,
                "Package: libc6\nStatus: install ok installed\nVersion: 2.41-12\nArchitecture: amd64\n");
            root.Write("var/lib/apt/lists/deb.debian.org_dists_trixie_InRelease", "lists");
            root.Write("usr/share/doc/libc6/changelog.gz", "doc");
            root.CreateFolder("etc");

            RootfsTrimmer.Trim(root.Path, level);

            Assert.AreEqual(1, DpkgStatus.Read(root.Path).Count, $"{level} removed the status");
        }
    }
}
