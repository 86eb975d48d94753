using System.Text;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Registry;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Registry;

[TestClass]
public sealed class RegistryCredentialsTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-creds-");
    private readonly Dictionary<string, string> _environment = [];
    private readonly List<(string Helper, string Server)> _helperCalls = [];

    public void Dispose() => _folder.Dispose();

    private RegistryCredentials Create(string? helperAnswer = null) => new(
        name => _environment.TryGetValue(name, out var value) ? value : null,
        (helper, server, _) =>
        {
            _helperCalls.Add((helper, server));
            return Task.FromResult(helperAnswer);
        });

    private void DockerConfig(string json)
    {
        _folder.Write("docker/config.json", json);
        _environment["DOCKER_CONFIG"] = _folder.Combine("docker");
    }

    private static string Auths(string key, string auth) =>
        "{\"auths\":{\"" + key + "\":{\"auth\":\"" + auth + "\"}}}";

    private static string Auth(string user, string password) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    [TestMethod]
    public async Task No_source_means_anonymous_access()
    {
        _environment["HOME"] = _folder.Path;

        Assert.IsNull(await Create().FindAsync("reg.example", CancellationToken.None));
    }

    [TestMethod]
    public async Task The_environment_variables_come_first()
    {
        _environment["DTV_REGISTRY_USER"] = "ci";
        _environment["DTV_REGISTRY_PASSWORD"] = "pw";
        DockerConfig(Auths("reg.example", Auth("other", "x")));

        var credential = await Create().FindAsync("reg.example", CancellationToken.None);

        Assert.AreEqual("ci", credential?.UserName);
        Assert.AreEqual("pw", credential?.Secret);
    }

    [TestMethod]
    public async Task The_dotnet_sdk_variables_are_honoured()
    {
        _environment["DOTNET_CONTAINER_REGISTRY_UNAME"] = "sdk";
        _environment["DOTNET_CONTAINER_REGISTRY_PWORD"] = "pw";

        var credential = await Create().FindAsync("reg.example", CancellationToken.None);

        Assert.AreEqual("sdk", credential?.UserName);
    }

    [TestMethod]
    [DataRow("reg.example:5000")]
    [DataRow("https://reg.example:5000")]
    [DataRow("https://reg.example:5000/v1/")]
    public async Task A_docker_login_entry_is_found_by_its_host(string key)
    {
        DockerConfig(Auths(key, Auth("me", "p:w")));

        var credential = await Create().FindAsync("reg.example:5000", CancellationToken.None);

        Assert.AreEqual("me", credential?.UserName);
        Assert.AreEqual("p:w", credential?.Secret);
    }

    [TestMethod]
    public async Task A_credential_helper_for_the_registry_is_asked()
    {
        DockerConfig("""{"credHelpers":{"reg.example":"pass"},"credsStore":"desktop"}""");

        var credential = await Create("""{"Username":"helped","Secret":"tok"}""")
            .FindAsync("reg.example", CancellationToken.None);

        Assert.AreEqual("helped", credential?.UserName);
        Expect.Sequence(_helperCalls, ("pass", "reg.example"));
    }

    [TestMethod]
    public async Task The_default_credential_store_is_asked_last_and_may_know_nothing()
    {
        DockerConfig("""{"credsStore":"desktop"}""");

        var credential = await Create(null).FindAsync("reg.example", CancellationToken.None);

        Assert.IsNull(credential);
        Expect.Sequence(_helperCalls, ("desktop", "reg.example"));
    }

    [TestMethod]
    public void A_docker_configuration_that_is_not_json_is_reported()
    {
        DockerConfig("{not json");

        var e = Assert.ThrowsExactly<DtvException>(() =>
            Create().FindAsync("reg.example", CancellationToken.None).GetAwaiter().GetResult());

        Assert.AreEqual("DTV9066", e.Code);
    }

    [TestMethod]
    public void A_credential_never_shows_its_secret_as_text()
    {
        var credential = new RegistryCredential("me", "topsecret", "somewhere");

        Assert.DoesNotContain("topsecret", credential.ToString());
        Assert.DoesNotContain("topsecret", $"{credential}");
    }
}
