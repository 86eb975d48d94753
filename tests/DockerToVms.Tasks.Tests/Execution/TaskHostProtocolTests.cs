using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using DockerToVms.Tasks.Bootstrap;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;
using DockerToVms.Tasks.Rootfs;
using DockerToVms.Tasks.Vm;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Execution;

/// <summary>
/// A task an ordinary user's build runs in its user namespace gets exactly the parameters the
/// project gave it, and the build gets exactly the outputs the task set there.
/// </summary>
[TestClass]
public sealed class TaskHostProtocolTests
{
    // Text that MSBuild, a shell or JSON would each read in a way of their own.
    private const string Awkward =
        "50% off; $(Configuration) @(Files) %(Mode) \"double\" 'single' back\\slash\n"
        + "second line\r\n\ttabbed %3B %25 \u00e9\u4e2d";

    [TestMethod]
    public void A_chroot_step_gets_its_packages_files_and_commands_exactly()
    {
        var sent = new ChrootExecTask
        {
            RootDirectory = "/var/tmp/root fs;1/" + Awkward,
            Packages = ["curl", "libicu72", Awkward],
            Files =
            [
                Item("/src/app%3B1.conf",
                    (ChrootExecTask.DestinationMetadata, "/etc/app;1.conf"),
                    (ChrootExecTask.ModeMetadata, "0600")),
                Item("/src/50% off.txt", (ChrootExecTask.DestinationMetadata, "/srv/%3B")),
            ],
            Commands =
            [
                Item("first", (ChrootExecTask.CommandMetadata,
                    "echo \"$HOME\"; printf '%s\\n' 50%3B @(x) $(y)\nexit 0")),
                Item("useradd --system app"),
            ],
            EnvironmentVariables =
            [
                Item("GREETING", (ChrootExecTask.ValueMetadata, Awkward)),
                Item("PATH", (ChrootExecTask.ValueMetadata, "/usr/sbin:/usr/bin;$PATH")),
            ],
            AllowUnsigned = true,
            Offline = true,
        };

        var (received, directory) = RoundTrip(sent, "/home/builder/my app;1");

        Assert.AreEqual("/home/builder/my app;1", directory);
        AssertSameParameters(sent, received);
    }

    [TestMethod]
    public void A_bootstrap_gets_its_numbers_flags_and_lists_exactly()
    {
        var sent = new DebootstrapTask
        {
            Suite = "bookworm",
            Mirror = "http://127.0.0.1:3142/debian?a=1&b=%20",
            TargetDirectory = "/tmp/" + Awkward,
            Variant = "buildd",
            Architecture = "arm64",
            Components = ["main", "contrib", "non-free-firmware"],
            IncludePackages = ["ca-certificates", "a;b", "%3B"],
            ExcludePackages = ["e2fsprogs"],
            Keyring = "/usr/share/keyrings/debian-archive-keyring.gpg",
            Foreign = true,
            AllowUnsigned = true,
            Attempts = 7,
            Bootstrapper = "mmdebstrap",
        };

        var (received, _) = RoundTrip(sent, "/");

        AssertSameParameters(sent, received);
    }

    [TestMethod]
    public void A_size_beyond_an_int_arrives_as_given()
    {
        var sent = new WriteInitramfsTask
        {
            RootDirectory = "/tmp/vm root",
            OutputPath = "/tmp/out/initrd.img",
            MemoryMegabytes = 5_000_000_000L,
        };

        var (received, _) = RoundTrip(sent, "/");

        AssertSameParameters(sent, received);
    }

    [TestMethod]
    public void A_single_item_arrives_with_its_metadata()
    {
        var sent = new ItemTakingTask
        {
            Item = Item("50%3B done; $(x)", ("Note", Awkward), ("Empty-looking", "%00")),
        };

        var (received, _) = RoundTrip(sent, "/");

        AssertSameParameters(sent, received);
    }

    [TestMethod]
    public void Outputs_set_in_the_host_are_set_on_the_task_in_the_build()
    {
        var inHost = new DeriveAppRootfsTask { CacheDirectory = "/host/cache" };
        SetOutput(inHost, nameof(DeriveAppRootfsTask.RootDirectory), "/cache/app/1;2 %3B");
        SetOutput(inHost, nameof(DeriveAppRootfsTask.Digest), "ab12");
        SetOutput(inHost, nameof(DeriveAppRootfsTask.Built), true);
        var inBuild = new DeriveAppRootfsTask { CacheDirectory = "/build/cache" };

        var line = JsonNode.Parse(TaskHostProtocol.WriteOutputs(inHost))!.AsObject();
        TaskHostProtocol.ReadOutputs(line, inBuild);

        Assert.AreEqual("/cache/app/1;2 %3B", inBuild.RootDirectory);
        Assert.AreEqual("ab12", inBuild.Digest);
        Assert.IsTrue(inBuild.Built);
        Assert.AreEqual("/build/cache", inBuild.CacheDirectory);
    }

    private static (ITask Task, string Directory) RoundTrip(ITask task, string directory) =>
        TaskHostProtocol.ReadRequest(TaskHostProtocol.WriteRequest(task, directory));

    // MSBuild hands a task's item specs and metadata over unescaped; '%' is escaped here so
    // that the item holds the text exactly as written.
    private static TaskItem Item(string spec, params (string Name, string Value)[] metadata)
    {
        var item = new TaskItem(spec.Replace("%", "%25", StringComparison.Ordinal));
        foreach (var (name, value) in metadata)
        {
            ((ITaskItem2)item).SetMetadataValueLiteral(name, value);
        }

        return item;
    }

    // Outputs have private setters: this stands for the task having run in the host.
    private static void SetOutput(ITask task, string name, object value) =>
        task.GetType().GetProperty(name)!.SetValue(task, value);

    // The parameters are found here without the protocol's help, so that one it leaves out
    // fails the comparison; each must differ from its default, or its trip proves nothing.
    private static void AssertSameParameters(ITask sent, ITask received)
    {
        Assert.AreEqual(sent.GetType(), received.GetType());
        var defaults = Activator.CreateInstance(sent.GetType())!;
        var parameters = sent.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetMethod?.IsPublic == true && p.SetMethod?.IsPublic == true
                && p.DeclaringType != typeof(Microsoft.Build.Utilities.Task)
                && p.GetCustomAttribute<OutputAttribute>() is null)
            .ToList();
        Assert.IsNotEmpty(parameters);

        foreach (var parameter in parameters)
        {
            var given = Show(parameter.GetValue(sent));
            Assert.AreNotEqual(Show(parameter.GetValue(defaults)), given,
                parameter.Name + " keeps its default in this test");
            Assert.AreEqual(given, Show(parameter.GetValue(received)), parameter.Name);
        }
    }

    // A value as JSON, with items as their spec and custom metadata, so that values of every
    // parameter type compare as text and a failure shows both.
    private static string Show(object? value) => JsonSerializer.Serialize(Plain(value));

    private static object? Plain(object? value) => value switch
    {
        ITaskItem item => new
        {
            Spec = item.ItemSpec,
            Metadata = new SortedDictionary<string, string>(
                item.CloneCustomMetadata().Keys.Cast<string>()
                    .ToDictionary(name => name, item.GetMetadata),
                StringComparer.OrdinalIgnoreCase),
        },
        ITaskItem[] items => items.Select(Plain).ToList(),
        _ => value,
    };

    // No task of the library takes a single item, but MSBuild can give one, and the host
    // takes every kind of parameter MSBuild gives.
    private sealed class ItemTakingTask : Microsoft.Build.Utilities.Task
    {
        public ITaskItem? Item { get; set; }

        public override bool Execute() => true;
    }
}
