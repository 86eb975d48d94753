using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;

namespace DockerToVms.Tasks.Tests.AppTrim;

/// <summary>Working out the files of an app-level base from real ELF files.</summary>
[TestClass]
public sealed class AppRootfsPlanTests : IDisposable
{
    private readonly FakeAppRoot _fake = new();

    public void Dispose() => _fake.Dispose();

    private AppRootfsPlan Plan(Func<AppRootfsRequest, AppRootfsRequest>? change = null)
    {
        var request = new AppRootfsRequest
        {
            Root = _fake.Root,
            PublishDirectory = _fake.Publish,
            User = "app",
        };
        return AppRootfsPlan.Create(change is null ? request : change(request));
    }

    private static DtvException Fails(Action action)
    {
        try
        {
            action();
        }
        catch (DtvException e)
        {
            return e;
        }

        throw new AssertFailedException("expected a DtvException");
    }

    [TestMethod]
    public void The_base_keeps_the_loader_and_every_library_the_app_links_to()
    {
        _fake.AddSelinux();
        var libc = FakeAppRoot.HostLibrary("libc.so.6");
        var selinux = FakeAppRoot.HostLibrary("libselinux.so.1");

        var plan = Plan();

        CollectionAssert.Contains(plan.Paths.ToList(), libc);
        CollectionAssert.Contains(plan.Paths.ToList(), selinux);
        var links = new List<string>();
        var loader = new ImageRoot(_fake.Root)
            .Resolve(ElfObject.TryRead("/usr/bin/ls")!.Interpreter!, links);
        CollectionAssert.IsSubsetOf(links.Append(loader!).ToList(), plan.Paths.ToList(),
            "the loader, and the links on the path the app names it by");
        CollectionAssert.IsSubsetOf(new[] { "libc6", "libselinux1" }, plan.Packages.ToList());
    }

    [TestMethod]
    public void The_base_leaves_out_what_the_app_does_not_need()
    {
        _fake.AddSelinux();

        var plan = Plan();

        CollectionAssert.DoesNotContain(plan.Paths.ToList(), "/usr/bin/dash");
        CollectionAssert.DoesNotContain(plan.Paths.ToList(), "/usr/share/coreutils/data.txt");
        CollectionAssert.DoesNotContain(plan.Packages.ToList(), "dash");
    }

    [TestMethod]
    public void A_library_no_package_provides_fails_with_DTV9021_naming_it_and_its_package()
    {
        var e = Fails(() => Plan(r => r with { Index = PackageIndex.Of(["libselinux1"]) }));

        Assert.AreEqual("DTV9021", e.Code);
        Assert.AreEqual("libselinux.so.1", e.Arguments[0]);
        Assert.AreEqual("MyApp", e.Arguments[1]);
        StringAssert.Contains((string)e.Arguments[2]!, "libselinux1");
    }

    [TestMethod]
    public void A_library_the_app_ships_itself_is_not_looked_for_in_the_base()
    {
        _fake.AddSelinux();
        var selinux = FakeAppRoot.HostLibrary("libselinux.so.1");
        File.Copy(selinux, Path.Combine(_fake.Publish, "libselinux.so.1"));
        File.Delete(Path.Combine(_fake.Root, selinux.TrimStart('/')));

        var plan = Plan();

        CollectionAssert.DoesNotContain(plan.Paths.ToList(), selinux);
        CollectionAssert.Contains(plan.Paths.ToList(), FakeAppRoot.HostLibrary("libpcre2-8.so.0"),
            "what the shipped library needs still comes from the base");
    }

    [TestMethod]
    public void Only_root_and_the_app_user_are_in_the_accounts()
    {
        _fake.AddSelinux();

        var files = Plan().GeneratedFiles();

        Assert.AreEqual("root:x:0:0:root:/root:/bin/bash\n"
            + "app:x:1654:1654::/home/app:/usr/sbin/nologin\n", files["/etc/passwd"]);
        Assert.AreEqual("root:x:0:\napp:x:1654:\n", files["/etc/group"]);
        CollectionAssert.Contains(Plan().Paths.ToList(), "/home/app");
        CollectionAssert.DoesNotContain(Plan().Paths.ToList(), "/etc/passwd",
            "written, not copied");
    }

    [TestMethod]
    public void The_package_status_lists_only_the_packages_the_files_came_from()
    {
        _fake.AddSelinux();

        var plan = Plan();
        var status = plan.GeneratedFiles()[DpkgDatabase.StatusPath];

        StringAssert.Contains(status, "Package: libc6\n");
        StringAssert.Contains(status, "Package: tzdata\n");
        Assert.IsFalse(status.Contains("Package: dash", StringComparison.Ordinal), status);
        Assert.IsFalse(status.Contains("Package: coreutils", StringComparison.Ordinal), status);
        CollectionAssert.Contains(plan.Paths.ToList(), "/usr/share/doc/libc6/copyright");
        CollectionAssert.DoesNotContain(plan.Paths.ToList(), "/usr/share/doc/coreutils/copyright");
    }

    [TestMethod]
    public void Time_zones_and_certificates_are_kept_with_the_links_that_reach_them()
    {
        _fake.AddSelinux();

        var paths = Plan().Paths.ToList();

        CollectionAssert.IsSubsetOf(new[]
        {
            "/usr/share/zoneinfo/Europe/Berlin", "/etc/localtime", "/usr/share/zoneinfo/UTC",
            "/etc/ssl/certs/ca-certificates.crt", "/usr/lib/ssl/cert.pem", "/etc/os-release",
        }, paths);
    }

    [TestMethod]
    public void I_can_leave_the_time_zone_database_out()
    {
        _fake.AddSelinux();

        var paths = Plan(r => r with { TimeZones = false }).Paths.ToList();

        CollectionAssert.DoesNotContain(paths, "/usr/share/zoneinfo/Europe/Berlin");
        CollectionAssert.DoesNotContain(paths, "/etc/localtime");
    }

    [TestMethod]
    public void I_can_keep_extra_files_and_directories()
    {
        _fake.AddSelinux();
        _fake.Write("/etc/myapp/settings.json", "{}");
        _fake.Write("/opt/tool/readme", "hi");

        var paths = Plan(r => r with { KeepFiles = ["/etc/myapp", "/opt/tool/readme"] })
            .Paths.ToList();

        CollectionAssert.IsSubsetOf(new[] { "/etc/myapp", "/etc/myapp/settings.json",
            "/opt/tool/readme", "/opt/tool", "/opt" }, paths);
    }

    [TestMethod]
    public void A_kept_file_that_is_not_in_the_root_filesystem_fails_with_DTV9020()
    {
        _fake.AddSelinux();

        var e = Fails(() => Plan(r => r with { KeepFiles = ["/etc/missing.conf"] }));

        Assert.AreEqual("DTV9020", e.Code);
        Assert.AreEqual("/etc/missing.conf", e.Arguments[0]);
    }

    [TestMethod]
    public void A_kept_file_must_be_an_absolute_path_in_the_image()
    {
        _fake.AddSelinux();

        Assert.AreEqual("DTV2007",
            Fails(() => Plan(r => r with { KeepFiles = ["etc/../../x"] })).Code);
    }

    [TestMethod]
    public void A_listed_package_is_kept_whole()
    {
        _fake.AddSelinux();

        var paths = Plan(r => r with { Packages = ["coreutils"] }).Paths.ToList();

        CollectionAssert.Contains(paths, "/usr/share/coreutils/data.txt");
    }

    [TestMethod]
    public void OpenSSL_is_kept_only_when_a_published_file_loads_it()
    {
        _fake.AddSelinux();
        var ssl = _fake.AddHostLibrary("libssl.so.3", "libssl3");
        _fake.AddHostLibrary("libcrypto.so.3", "libssl3");

        var without = Plan();
        using (var app = File.Open(Path.Combine(_fake.Publish, "MyApp"), FileMode.Append))
        {
            app.Write("libssl.so.3\0"u8);
        }

        var with = Plan();

        Assert.IsFalse(without.UsesOpenSsl);
        CollectionAssert.DoesNotContain(without.Paths.ToList(), ssl);
        Assert.IsTrue(with.UsesOpenSsl);
        CollectionAssert.Contains(with.Paths.ToList(), ssl);
        CollectionAssert.Contains(with.Paths.ToList(), FakeAppRoot.HostLibrary("libcrypto.so.3"));
    }

    [TestMethod]
    public void A_single_file_app_keeps_OpenSSL_only_when_its_bundle_holds_cryptography()
    {
        _fake.AddSelinux();
        _fake.AddHostLibrary("libssl.so.3", "libssl3");
        _fake.AddHostLibrary("libcrypto.so.3", "libssl3");
        var app = Path.Combine(_fake.Publish, "MyApp");
        using (var bundle = File.Open(app, FileMode.Append))
        {
            bundle.Write("libssl.so.3\0System.Private.CoreLib.dll\0System.Console.dll"u8);
        }

        var without = Plan();
        using (var bundle = File.Open(app, FileMode.Append))
        {
            bundle.Write("\0System.Security.Cryptography.dll"u8);
        }

        var with = Plan();

        Assert.IsFalse(without.UsesOpenSsl, "the host names libssl, the bundle never calls it");
        Assert.IsTrue(with.UsesOpenSsl);
    }

    [TestMethod]
    public void An_app_with_culture_data_and_no_ICU_in_the_base_fails_with_DTV9022()
    {
        _fake.AddSelinux();

        var e = Fails(() => Plan(r => r with
        {
            Globalization = true,
            Index = PackageIndex.Of(["libicu72", "libicu76"]),
        }));

        Assert.AreEqual("DTV9022", e.Code);
        StringAssert.Contains((string)e.Arguments[0]!, "libicu76");
    }

    [TestMethod]
    public void The_runtime_trace_provider_may_miss_its_tracing_library()
    {
        _fake.AddSelinux();
        File.Copy("/usr/bin/ls", Path.Combine(_fake.Publish, "libcoreclrtraceptprovider.so"));
        File.Delete(Path.Combine(_fake.Root, FakeAppRoot.HostLibrary("libselinux.so.1")
            .TrimStart('/')));
        File.Delete(Path.Combine(_fake.Publish, "MyApp"));

        var plan = Plan();

        Assert.IsTrue(plan.Paths.Count > 0);
    }

    [TestMethod]
    public void The_digest_follows_the_set_of_files_and_the_base()
    {
        _fake.AddSelinux();

        var first = Plan().ComputeDigest("base1");
        var again = Plan().ComputeDigest("base1");
        var otherBase = Plan().ComputeDigest("base2");
        var fewer = Plan(r => r with { TimeZones = false }).ComputeDigest("base1");

        Assert.AreEqual(first, again);
        Assert.AreNotEqual(first, otherBase);
        Assert.AreNotEqual(first, fewer);
    }

    [TestMethod]
    public void A_changed_app_that_needs_the_same_files_keeps_the_digest()
    {
        _fake.AddSelinux();
        var before = Plan().ComputeDigest("base");

        File.WriteAllText(Path.Combine(_fake.Publish, "MyApp.dll"), "a new build of the app");
        var after = Plan().ComputeDigest("base");

        Assert.AreEqual(before, after);
    }
}
