using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Registry;

namespace DockerToVms.Tasks.Tests.Registry;

[TestClass]
public sealed class RegistryReferenceTests
{
    private static string Code(Action action) =>
        Assert.ThrowsExactly<DtvException>(action).Code;

    [TestMethod]
    [DataRow("127.0.0.1:5000")]
    [DataRow("localhost:5000")]
    [DataRow("http://localhost:5000")]
    [DataRow("[::1]:5000")]
    public void A_registry_on_this_machine_is_spoken_to_over_http(string host)
    {
        var registry = RegistryReference.Create(host, "app");

        Assert.AreEqual("http", registry.ApiRoot.Scheme);
    }

    [TestMethod]
    public void Any_other_registry_is_spoken_to_over_https()
    {
        var registry = RegistryReference.Create("registry.example.com", "team/app");

        Assert.AreEqual(new Uri("https://registry.example.com/v2/"), registry.ApiRoot);
    }

    [TestMethod]
    public void Plain_http_to_another_machine_is_refused_unless_listed_as_insecure()
    {
        Assert.AreEqual("DTV3136", Code(() => RegistryReference.Create("http://reg.lan:5000", "app")));

        var listed = RegistryReference.Create("http://reg.lan:5000", "app", ["reg.lan:5000"]);
        Assert.AreEqual("http", listed.ApiRoot.Scheme);
    }

    [TestMethod]
    [DataRow("not a host")]
    [DataRow("reg/istry")]
    [DataRow("ftp://reg.example")]
    [DataRow("")]
    public void A_registry_that_is_not_a_host_name_is_refused(string host) =>
        Assert.AreEqual("DTV3133", Code(() => RegistryReference.Create(host, "app")));

    [TestMethod]
    [DataRow("MyApp")]
    [DataRow("app//x")]
    [DataRow("-app")]
    public void A_repository_the_registry_would_refuse_is_refused(string repository) =>
        Assert.AreEqual("DTV3134", Code(() => RegistryReference.Create("reg.example", repository)));

    [TestMethod]
    [DataRow("127.0.0.1:5000")]
    [DataRow("127.0.0.1:5000/")]
    public void A_cache_location_needs_a_repository(string value) =>
        Assert.AreEqual("DTV9065",
            Code(() => RegistryReference.Parse(value, "BaseImageCacheRegistry")));

    [TestMethod]
    public void A_cache_location_splits_into_registry_and_repository()
    {
        var registry = RegistryReference.Parse("127.0.0.1:5000/dtv/cache", "BaseImageCacheRegistry");

        Assert.AreEqual("127.0.0.1:5000", registry.Host);
        Assert.AreEqual("dtv/cache", registry.Repository);
    }
}
