using DockerToVms.EndToEndTests.Infrastructure;

namespace DockerToVms.EndToEndTests.AppTrim;

/// <summary>
/// BaseImageTrim=app, the default: the base holds only what the published app needs, and the
/// app still does everything it did on a full base.
/// </summary>
[TestClass]
public sealed class AppTrimTests
{
    // Each check prints one line the test looks for. TLS is checked against a server in the
    // same container on loopback, since the container has no other network.
    private const string ChecksProgram = """
        using System.Globalization;
        using System.IO.Compression;
        using System.Net;
        using System.Net.Security;
        using System.Net.Sockets;
        using System.Security.Cryptography;
        using System.Security.Cryptography.X509Certificates;

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256,
            RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5),
            DateTimeOffset.UtcNow.AddHours(1));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptTcpClientAsync();
            using var tls = new SslStream(accepted.GetStream());
            await tls.AuthenticateAsServerAsync(certificate);
            await tls.WriteAsync("pong"u8.ToArray());
        });
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            using var tls = new SslStream(tcp.GetStream(), false,
                (_, presented, _, _) =>
                    presented?.GetCertHashString() == certificate.GetCertHashString());
            await tls.AuthenticateAsClientAsync("localhost");
            var answer = new byte[4];
            await tls.ReadExactlyAsync(answer);
            Console.WriteLine($"tls={System.Text.Encoding.ASCII.GetString(answer)}");
        }

        await server;
        using (var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine))
        {
            store.Open(OpenFlags.ReadOnly);
            Console.WriteLine($"roots={store.Certificates.Count}");
        }

        Console.WriteLine("sha256=" + Convert.ToHexString(SHA256.HashData("abc"u8))[..16]);

        var text = new byte[10_000];
        Array.Fill(text, (byte)'a');
        using (var packed = new MemoryStream())
        {
            using (var brotli = new BrotliStream(packed, CompressionLevel.Optimal, leaveOpen: true))
            {
                brotli.Write(text);
            }

            packed.Position = 0;
            using var gzip = new MemoryStream();
            using (var unpack = new BrotliStream(packed, CompressionMode.Decompress, leaveOpen: true))
            using (var zip = new GZipStream(gzip, CompressionLevel.Fastest, leaveOpen: true))
            {
                unpack.CopyTo(zip);
            }

            Console.WriteLine($"zip={packed.Length < text.Length && gzip.Length < text.Length}");
        }

        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var summer = new DateTime(2024, 7, 1, 12, 0, 0, DateTimeKind.Utc);
        Console.WriteLine($"tz={berlin.GetUtcOffset(summer)}");
        Console.WriteLine("culture=" + 1234.5.ToString("N2", new CultureInfo("de-DE")));
        Console.WriteLine("user=" + Environment.UserName);
        Console.WriteLine("shell=" + File.Exists("/bin/sh"));
        Console.WriteLine("bash-in-status=" + File.ReadAllText("/var/lib/dpkg/status")
            .Contains("Package: bash\n"));
        """;

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task An_app_on_an_app_level_base_keeps_tls_hashing_compression_zones_and_cultures()
    {
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk",
            ChecksProgram);

        var publish = await project.PublishAsync();
        Assert.AreEqual(0, publish.ExitCode, publish.Tail);
        StringAssert.Contains(publish.Output, "verified the app image", publish.Tail);
        StringAssert.Contains(publish.Output, "image-size.md", publish.Tail);
        var output = await project.RunImageAsync();

        StringAssert.Contains(output, "tls=pong");
        Assert.IsFalse(output.Contains("roots=0", StringComparison.Ordinal), output);
        StringAssert.Contains(output, "roots=");
        StringAssert.Contains(output, "sha256=BA7816BF8F01CFEA");
        StringAssert.Contains(output, "zip=True");
        StringAssert.Contains(output, "tz=02:00:00");
        StringAssert.Contains(output, "culture=1.234,50");
        StringAssert.Contains(output, "user=app");
        StringAssert.Contains(output, "shell=False", "no shell: only what the app needs");
        StringAssert.Contains(output, "bash-in-status=False",
            "the package status lists only the packages files were kept from");

        var report = Path.Combine(project.Directory, "bin/Release/net10.0/linux-x64/image-size.md");
        StringAssert.Contains(await File.ReadAllTextAsync(report), "## Packages of the base");
        var baseImage = await project.InspectAsync(project.Repository,
            "{{index .RootFS.Layers 0}}");

        var unchanged = await project.PublishAsync();
        Assert.AreEqual(0, unchanged.ExitCode, unchanged.Tail);
        Assert.IsFalse(unchanged.Output.Contains("made the app-level base",
            StringComparison.Ordinal), "nothing copied again\n" + unchanged.Tail);
        StringAssert.Contains(unchanged.Output, "not imported again", unchanged.Tail);
        Assert.AreEqual(baseImage, await project.InspectAsync(project.Repository,
            "{{index .RootFS.Layers 0}}"));
    }

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task A_trimmed_single_file_app_gets_extra_files_and_missing_libraries_named()
    {
        const string program = """
            if (args.Length == 0 || args[0] != "skip")
            {
                System.Runtime.InteropServices.NativeLibrary.Load("libsqlite3.so.0");
            }

            Console.WriteLine("version=" + File.ReadAllText("/etc/debian_version").Trim());
            """;
        await using var project = await UserProject.CreateAsync("Microsoft.NET.Sdk", program,
            """
            <PropertyGroup>
              <PublishSingleFile>true</PublishSingleFile>
              <PublishTrimmed>true</PublishTrimmed>
              <!-- The trimmer writes the assembly again and names its own folder in obj as
                   the symbols' place, which PathMap does not reach; this test is about the
                   base, so the app carries no symbols. -->
              <DebugType>none</DebugType>
            </PropertyGroup>
            <ItemGroup>
              <BaseImageKeepFile Include="$(KeepFile)" />
            </ItemGroup>
            """);

        var wrongPath = await project.PublishAsync("-p:KeepFile=/etc/no-such-file");
        Assert.AreNotEqual(0, wrongPath.ExitCode, wrongPath.Tail);
        CollectionAssert.Contains(wrongPath.ErrorCodes.ToArray(), "DTV9020", wrongPath.Tail);

        var missingLibrary = await project.PublishAsync("-p:KeepFile=/etc/debian_version");
        Assert.AreNotEqual(0, missingLibrary.ExitCode, missingLibrary.Tail);
        CollectionAssert.Contains(missingLibrary.ErrorCodes.ToArray(), "DTV3020",
            missingLibrary.Tail);
        StringAssert.Contains(missingLibrary.Output, "libsqlite3.so.0", missingLibrary.Tail);

        var skipping = await project.PublishAsync("-p:KeepFile=/etc/debian_version",
            "-p:VerifyAppImageArgs=skip");
        Assert.AreEqual(0, skipping.ExitCode, skipping.Tail);
        var output = await Shell.CheckAsync(project.Directory, "docker", "run", "--rm",
            "--pull", "never", "--network", "none", project.Repository, "skip");
        StringAssert.Contains(output, "version=13");
    }
}
