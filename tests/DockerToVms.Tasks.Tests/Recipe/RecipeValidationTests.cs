using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Tests.Recipe;

/// <summary>Each setting is checked before work starts, and a bad one gets its own code.</summary>
[TestClass]
public sealed class RecipeValidationTests
{
    [TestMethod]
    [DataRow("trixie")]
    [DataRow("bookworm-backports")]
    [DataRow("stable")]
    [DataRow("24.04")]
    public void Codenames_and_aliases_are_accepted_as_suites(string suite) =>
        RecipeValidation.Suite(suite);

    [TestMethod]
    [DataRow("")]
    [DataRow("Trixie")]
    [DataRow("tri xie")]
    [DataRow("-trixie")]
    [DataRow("trixie/updates")]
    [DataRow("../trixie")]
    public void A_bad_suite_is_refused(string suite) =>
        AssertCode("DTV1001", () => RecipeValidation.Suite(suite), suite);

    [TestMethod]
    [DataRow("http://deb.debian.org/debian")]
    [DataRow("https://deb.debian.org/debian/")]
    [DataRow("file:///srv/mirror")]
    public void Http_https_and_file_mirrors_are_accepted(string mirror) =>
        Assert.AreEqual(mirror, RecipeValidation.Mirror(mirror).OriginalString);

    [TestMethod]
    [DataRow("")]
    [DataRow("ftp://deb.debian.org/debian")]
    [DataRow("deb.debian.org/debian")]
    [DataRow("ssh://mirror/debian")]
    public void A_mirror_of_another_scheme_is_refused(string mirror) =>
        AssertCode("DTV1003", () => RecipeValidation.Mirror(mirror), mirror);

    // debootstrap tells mirrors apart by a case-sensitive scheme prefix; a bare path or an
    // upper-case scheme would pass here only to fail later inside debootstrap.
    [TestMethod]
    [DataRow("/srv/mirror")]
    [DataRow("HTTP://deb.debian.org/debian")]
    public void A_mirror_debootstrap_cannot_use_is_refused(string mirror) =>
        AssertCode("DTV1003", () => RecipeValidation.Mirror(mirror), mirror);

    [TestMethod]
    [DataRow("amd64")]
    [DataRow("riscv64")]
    public void Debian_architectures_are_accepted(string architecture) =>
        RecipeValidation.Architecture(architecture);

    [TestMethod]
    [DataRow("x86_64")]
    [DataRow("AMD64")]
    [DataRow("")]
    public void An_unknown_architecture_is_refused(string architecture) =>
        AssertCode("DTV1005", () => RecipeValidation.Architecture(architecture), architecture);

    [TestMethod]
    public void Archive_components_are_accepted() =>
        RecipeValidation.Components(["main", "contrib", "non-free-firmware", "non_free"]);

    [TestMethod]
    [DataRow("Main")]
    [DataRow("main,contrib")]
    [DataRow("main contrib")]
    [DataRow("main/debian-installer")]
    [DataRow("")]
    public void A_bad_component_is_refused(string component) =>
        AssertCode("DTV1012", () => RecipeValidation.Components(["main", component]),
            component);

    [TestMethod]
    public void Debian_package_names_are_accepted() =>
        RecipeValidation.PackageNames(
            ["libc6", "libstdc++6", "dotnet-runtime-8.0", "g++", "0ad"], "BaseImagePackage");

    [TestMethod]
    [DataRow("Curl")]
    [DataRow("-curl")]
    [DataRow("c")]
    [DataRow("curl jq")]
    [DataRow("curl;rm")]
    [DataRow("@libssl")]
    public void A_bad_package_name_is_refused(string name)
    {
        var error = Assert.ThrowsExactly<DtvException>(
            () => RecipeValidation.PackageNames(["curl", name], "BaseImagePackage"));

        Assert.AreEqual("DTV1011", error.Code);
        CollectionAssert.AreEqual(new object[] { name, "BaseImagePackage" },
            error.Arguments.ToArray());
    }

    [TestMethod]
    public void All_bad_package_names_are_named_at_once()
    {
        var error = Assert.ThrowsExactly<DtvException>(
            () => RecipeValidation.PackageNames(["Foo", "curl", "Bar"], "IncludePackages"));

        Assert.AreEqual("Foo, Bar", error.Arguments[0]);
    }

    [TestMethod]
    [DataRow("myapp")]
    [DataRow("team/my-app")]
    [DataRow("a.b_c")]
    [DataRow("a__b")]
    [DataRow("a--b")]
    [DataRow("org/team/app2")]
    public void Valid_repository_names_are_accepted(string repository) =>
        RecipeValidation.Repository(repository);

    [TestMethod]
    [DataRow("")]
    [DataRow("MyApp")]
    [DataRow("my app")]
    [DataRow("-app")]
    [DataRow("app-")]
    [DataRow("team//app")]
    [DataRow("/app")]
    [DataRow("app/")]
    [DataRow("a..b")]
    [DataRow("a___b")]
    [DataRow("app:latest")]
    public void A_bad_repository_name_is_refused(string repository) =>
        AssertCode("DTV3003", () => RecipeValidation.Repository(repository), repository);

    [TestMethod]
    public void A_repository_name_longer_than_255_characters_is_refused()
    {
        var name = new string('a', 256);

        RecipeValidation.Repository(name[..255]);
        AssertCode("DTV3003", () => RecipeValidation.Repository(name), name);
    }

    [TestMethod]
    [DataRow("latest")]
    [DataRow("1.2.3")]
    [DataRow("V1_rc-2")]
    [DataRow("_private")]
    public void Valid_tags_are_accepted(string tag) => RecipeValidation.Tag(tag);

    [TestMethod]
    [DataRow("")]
    [DataRow(".hidden")]
    [DataRow("-dash")]
    [DataRow("a:b")]
    [DataRow("a/b")]
    [DataRow("two words")]
    public void A_bad_tag_is_refused(string tag) =>
        AssertCode("DTV3004", () => RecipeValidation.Tag(tag), tag);

    [TestMethod]
    public void A_tag_may_have_128_characters_but_not_129()
    {
        RecipeValidation.Tag(new string('t', 128));

        AssertCode("DTV3004", () => RecipeValidation.Tag(new string('t', 129)),
            new string('t', 129));
    }

    [TestMethod]
    [DataRow("1", "tcp")]
    [DataRow("8080", "tcp")]
    [DataRow("53", "udp")]
    [DataRow("65535", "udp")]
    public void Valid_ports_are_accepted(string port, string type) =>
        RecipeValidation.Port(port, type);

    [TestMethod]
    [DataRow("0", "tcp")]
    [DataRow("65536", "tcp")]
    [DataRow("-80", "tcp")]
    [DataRow("abc", "tcp")]
    [DataRow("", "tcp")]
    [DataRow("80", "sctp")]
    [DataRow("80", "")]
    public void A_bad_port_is_refused(string port, string type)
    {
        var error = Assert.ThrowsExactly<DtvException>(() => RecipeValidation.Port(port, type));

        Assert.AreEqual("DTV3007", error.Code);
        CollectionAssert.AreEqual(new object[] { port, type }, error.Arguments.ToArray());
    }

    [TestMethod]
    [DataRow("ASPNETCORE_URLS")]
    [DataRow("_private")]
    [DataRow("lower_case9")]
    public void Valid_environment_variable_names_are_accepted(string name) =>
        RecipeValidation.EnvironmentVariableName(name);

    [TestMethod]
    [DataRow("")]
    [DataRow("1ABC")]
    [DataRow("MY-VAR")]
    [DataRow("MY VAR")]
    [DataRow("A=B")]
    public void A_bad_environment_variable_name_is_refused(string name) =>
        AssertCode("DTV3008", () => RecipeValidation.EnvironmentVariableName(name), name);

    [TestMethod]
    [DataRow("")]
    [DataRow("app")]
    [DataRow("root")]
    [DataRow("1654")]
    [DataRow("app:app")]
    [DataRow("1000:1000")]
    [DataRow("_svc-1")]
    public void Valid_users_are_accepted(string user) => RecipeValidation.User(user);

    [TestMethod]
    [DataRow("App")]
    [DataRow("app user")]
    [DataRow(":app")]
    [DataRow("app:")]
    [DataRow("app:Group")]
    [DataRow("-app")]
    [DataRow("app:app:app")]
    public void A_bad_user_is_refused(string user) =>
        AssertCode("DTV3010", () => RecipeValidation.User(user), user);

    [TestMethod]
    [DataRow("app", true)]
    [DataRow("app:app", true)]
    [DataRow("root", false)]
    [DataRow("root:root", false)]
    [DataRow("1000", false)]
    [DataRow("1000:1000", false)]
    [DataRow("", false)]
    public void Only_named_users_other_than_root_need_an_account(string user, bool needed) =>
        Assert.AreEqual(needed, RecipeValidation.NeedsAccount(user));

    [TestMethod]
    [DataRow("/")]
    [DataRow("/app")]
    [DataRow("/etc/app/app.conf")]
    [DataRow("/opt/my..app")]
    public void Absolute_paths_in_the_image_are_accepted(string path) =>
        RecipeValidation.PathInImage(path, "BaseImageFile");

    [TestMethod]
    [DataRow("")]
    [DataRow("app")]
    [DataRow("./app")]
    [DataRow("/app/../etc/passwd")]
    [DataRow("/..")]
    [DataRow("/app/..")]
    public void A_relative_or_escaping_path_in_the_image_is_refused(string path)
    {
        var error = Assert.ThrowsExactly<DtvException>(
            () => RecipeValidation.PathInImage(path, "ContainerWorkingDirectory"));

        Assert.AreEqual("DTV2007", error.Code);
        CollectionAssert.AreEqual(new object[] { path, "ContainerWorkingDirectory" },
            error.Arguments.ToArray());
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("644")]
    [DataRow("0644")]
    [DataRow("0755")]
    [DataRow("4755")]
    [DataRow("01777")]
    public void Octal_file_modes_are_accepted(string mode) =>
        RecipeValidation.FileMode(mode, "app.conf");

    [TestMethod]
    [DataRow("0888")]
    [DataRow("rwxr-xr-x")]
    [DataRow("u+x")]
    [DataRow("64")]
    [DataRow("0644 ")]
    [DataRow("000644")]
    public void A_file_mode_that_is_not_octal_permissions_is_refused(string mode)
    {
        var error = Assert.ThrowsExactly<DtvException>(
            () => RecipeValidation.FileMode(mode, "app.conf"));

        Assert.AreEqual("DTV2009", error.Code);
        CollectionAssert.AreEqual(new object[] { mode, "app.conf" }, error.Arguments.ToArray());
    }

    private static void AssertCode(string code, Action check, string value)
    {
        var error = Assert.ThrowsExactly<DtvException>(check);

        Assert.AreEqual(code, error.Code, error.Message);
        Assert.AreEqual(value, error.Arguments[0]);
    }
}
