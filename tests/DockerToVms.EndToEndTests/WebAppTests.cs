using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests;

[TestClass]
public sealed class WebAppTests
{
    private const string Program = """
        var app = WebApplication.Create(args);
        app.MapGet("/health", () => "ok");
        app.MapGet("/tls", async () =>
        {
            // Loads the certificate store and OpenSSL the way an HTTPS client does.
            using var store = new System.Security.Cryptography.X509Certificates.X509Store(
                System.Security.Cryptography.X509Certificates.StoreName.Root,
                System.Security.Cryptography.X509Certificates.StoreLocation.LocalMachine);
            store.Open(System.Security.Cryptography.X509Certificates.OpenFlags.ReadOnly);
            await Task.CompletedTask;
            return $"roots={store.Certificates.Count}";
        });
        app.Run();
        """;

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task I_can_publish_a_web_app_and_reach_it_through_a_published_port()
    {
        // No port settings: a web app listens on 8080, as in Microsoft's images.
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk.Web", Program);

        var publish = await project.PublishAsync();
        Assert.AreEqual(0, publish.ExitCode, publish.Tail);
        StringAssert.Contains(await project.InspectAsync(project.Repository,
            "{{json .Config.ExposedPorts}}"), "8080/tcp");

        var container = (await Shell.CheckAsync(project.Directory, "docker", "run", "-d",
            "--pull", "never", "-p", "127.0.0.1::8080", project.Repository)).Trim();
        try
        {
            var port = (await Shell.CheckAsync(project.Directory, "docker", "port", container,
                "8080/tcp")).Trim().Split('\n')[0].Split(':')[^1];
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

            Assert.AreEqual("ok", await GetWhenUpAsync(http, "/health"));
            StringAssert.StartsWith(await http.GetStringAsync("/tls"), "roots=");
            Assert.AreNotEqual("roots=0", await http.GetStringAsync("/tls"),
                "the image carries CA certificates");
        }
        finally
        {
            await Shell.RunAsync(project.Directory, "docker", "rm", "-f", container);
        }
    }

    private static async Task<string> GetWhenUpAsync(HttpClient http, string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await http.GetStringAsync(path);
            }
            catch (HttpRequestException) when (attempt < 60)
            {
                await Task.Delay(500);
            }
        }
    }
}
