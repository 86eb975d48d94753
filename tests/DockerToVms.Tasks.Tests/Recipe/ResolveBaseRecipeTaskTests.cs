using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Recipe;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Tests.Recipe;

/// <summary>The project's settings become a recipe, a digest and the steps to realise it.</summary>
[TestClass]
public sealed class ResolveBaseRecipeTaskTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-resolve-");

    public void Dispose() => _folder.Dispose();

    private string RecipeFile => _folder.Combine("obj/dockertovms/recipe.json");

    private (ResolveBaseRecipeTask Task, RecordingBuildEngine Engine) Create()
    {
        var engine = new RecordingBuildEngine();
        var task = new ResolveBaseRecipeTask
        {
            BuildEngine = engine,
            Suite = "trixie",
            Mirror = "http://deb.debian.org/debian",
            RuntimeIdentifier = "linux-x64",
            CacheDirectory = _folder.Combine("cache"),
            RecipeFile = RecipeFile,
        };
        return (task, engine);
    }

    private static TaskItem Run(string command) =>
        new("run", new Dictionary<string, string> { [ChrootExecTask.CommandMetadata] = command });

    private static TaskItem FileItem(string source, string destination, string mode = "") =>
        new(source, new Dictionary<string, string>
        {
            [ChrootExecTask.DestinationMetadata] = destination,
            [ChrootExecTask.ModeMetadata] = mode,
        });

    private static IReadOnlyList<string> CommandsOf(ITaskItem[] items) =>
        [.. items.Select(ChrootExecTask.CommandOf)];

    [TestMethod]
    public void A_cache_inside_the_project_is_refused_before_anything_is_written()
    {
        var (task, engine) = Create();
        task.ProjectDirectory = _folder.Path;

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV9007");
        Assert.IsFalse(Directory.Exists(_folder.Combine("cache")));
    }

    [TestMethod]
    public void A_cache_beside_the_project_is_accepted()
    {
        var (task, engine) = Create();
        task.ProjectDirectory = _folder.Combine("project");

        Assert.IsTrue(task.Execute(), engine.Log);
    }

    [TestMethod]
    public void A_new_recipe_is_resolved_with_its_digest_and_architecture()
    {
        var (task, engine) = Create();
        task.RuntimeIdentifier = "linux-arm64";

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual(task.Build().ComputeDigest(), task.Digest);
        Assert.AreEqual(64, task.Digest.Length);
        Assert.AreEqual("arm64", task.Architecture);
        Assert.IsFalse(task.Cached);
        Assert.AreEqual(Path.Combine(_folder.Combine("cache"), "rootfs", task.Digest),
            task.CacheEntry);
        Assert.AreEqual(0, engine.Errors.Count, engine.Log);
    }

    [TestMethod]
    public void The_libraries_a_dotnet_app_needs_are_installed()
    {
        var (task, engine) = Create();

        Assert.IsTrue(task.Execute(), engine.Log);

        Expect.Sequence(task.InstallPackages,
            "libc6", "libgcc-s1", "libstdc++6", "@libssl", "ca-certificates", "tzdata", "@libicu");
    }

    [TestMethod]
    public void An_app_with_invariant_globalization_gets_no_icu()
    {
        var (task, engine) = Create();
        task.InvariantGlobalization = true;

        Assert.IsTrue(task.Execute(), engine.Log);

        CollectionAssert.Contains(task.InstallPackages, "@libssl");
        CollectionAssert.DoesNotContain(task.InstallPackages, "@libicu");
    }

    [TestMethod]
    public void Extra_packages_follow_the_dotnet_ones_once_each()
    {
        var (task, engine) = Create();
        task.IncludeDotNetDependencies = false;
        task.Packages = [new TaskItem("curl"), new TaskItem("jq"), new TaskItem("curl")];

        Assert.IsTrue(task.Execute(), engine.Log);

        Expect.Sequence(task.InstallPackages, "curl", "jq");
    }

    [TestMethod]
    public void A_named_user_is_created_before_the_run_commands()
    {
        var (task, engine) = Create();
        task.User = "app";
        task.Runs = [Run("echo one; echo two"), new TaskItem("echo three")];

        Assert.IsTrue(task.Execute(), engine.Log);

        var commands = CommandsOf(task.Commands);
        Assert.AreEqual(3, commands.Count);
        StringAssert.StartsWith(commands[0], "getent passwd app ");
        StringAssert.Contains(commands[0], "useradd");
        StringAssert.Contains(commands[0], "--uid 1654 --gid 1654");
        Assert.AreEqual("echo one; echo two", commands[1]);
        Assert.AreEqual("echo three", commands[2]);
    }

    [TestMethod]
    public void A_user_with_a_group_creates_the_account_of_the_user()
    {
        var (task, engine) = Create();
        task.User = "web:web";

        Assert.IsTrue(task.Execute(), engine.Log);

        var commands = CommandsOf(task.Commands);
        Assert.AreEqual(1, commands.Count);
        StringAssert.StartsWith(commands[0], "getent passwd web ");
        Assert.AreEqual("web", task.Build().User);
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("root")]
    [DataRow("1000")]
    [DataRow("1000:1000")]
    public void Root_and_numeric_users_need_no_account(string user)
    {
        var (task, engine) = Create();
        task.User = user;
        task.Runs = [new TaskItem("echo hello")];

        Assert.IsTrue(task.Execute(), engine.Log);

        Expect.Sequence(CommandsOf(task.Commands), "echo hello");
        Assert.AreEqual(string.Empty, task.Build().User);
    }

    [TestMethod]
    public void An_existing_cache_entry_is_reported_as_cached()
    {
        var (first, _) = Create();
        Assert.IsTrue(first.Execute());
        Directory.CreateDirectory(first.CacheEntry);
        File.WriteAllText(Path.Combine(first.CacheEntry, "recipe.json"), "{}");

        var (second, engine) = Create();
        Assert.IsTrue(second.Execute(), engine.Log);

        Assert.IsTrue(second.Cached);
        Assert.AreEqual(first.Digest, second.Digest);
    }

    [TestMethod]
    public void The_recipe_file_holds_the_canonical_recipe()
    {
        var (task, engine) = Create();

        Assert.IsTrue(task.Execute(), engine.Log);

        Assert.AreEqual(task.Build().ToCanonicalJson(), File.ReadAllText(RecipeFile));
    }

    [TestMethod]
    public void An_unchanged_recipe_leaves_the_recipe_file_untouched()
    {
        var (first, _) = Create();
        Assert.IsTrue(first.Execute());
        var past = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(RecipeFile, past);

        var (second, engine) = Create();
        Assert.IsTrue(second.Execute(), engine.Log);

        Assert.AreEqual(past, File.GetLastWriteTimeUtc(RecipeFile));
    }

    [TestMethod]
    public void A_changed_recipe_rewrites_the_recipe_file()
    {
        var (first, _) = Create();
        Assert.IsTrue(first.Execute());
        var past = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(RecipeFile, past);

        var (second, engine) = Create();
        second.Runs = [new TaskItem("echo changed")];
        Assert.IsTrue(second.Execute(), engine.Log);

        Assert.AreNotEqual(past, File.GetLastWriteTimeUtc(RecipeFile));
        Assert.AreNotEqual(first.Digest, second.Digest);
        Assert.AreEqual(second.Build().ToCanonicalJson(), File.ReadAllText(RecipeFile));
    }

    [TestMethod]
    public void A_copied_file_is_part_of_the_recipe_with_its_default_mode()
    {
        var source = _folder.Write("files/app.conf", "x=1\n");
        var (task, engine) = Create();
        task.Files = [FileItem(source, "/etc/app.conf")];

        Assert.IsTrue(task.Execute(), engine.Log);

        var file = task.Build().Files.Single();
        Assert.AreEqual(new RecipeFile(source, "/etc/app.conf", "0644"), file);
    }

    [TestMethod]
    public void A_copied_file_whose_source_is_missing_fails_with_DTV2005()
    {
        var (task, engine) = Create();
        task.Files = [FileItem(_folder.Combine("files/missing.conf"), "/etc/app.conf")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2005");
    }

    [TestMethod]
    public void A_copied_file_without_a_destination_fails_with_DTV2006()
    {
        var source = _folder.Write("files/app.conf", "x=1\n");
        var (task, engine) = Create();
        task.Files = [new TaskItem(source)];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2006");
    }

    [TestMethod]
    public void A_copied_file_with_a_relative_destination_fails_with_DTV2007()
    {
        var source = _folder.Write("files/app.conf", "x=1\n");
        var (task, engine) = Create();
        task.Files = [FileItem(source, "etc/app.conf")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2007");
    }

    [TestMethod]
    public void A_copied_file_with_a_bad_mode_fails_with_DTV2009()
    {
        var source = _folder.Write("files/app.conf", "x=1\n");
        var (task, engine) = Create();
        task.Files = [FileItem(source, "/etc/app.conf", "rw-r--r--")];

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, "DTV2009");
    }

    [TestMethod]
    [DataRow("win-x64", "DTV9002")]
    [DataRow("linux-musl-x64", "DTV9002")]
    public void An_unsupported_runtime_fails(string rid, string code)
    {
        var (task, engine) = Create();
        task.RuntimeIdentifier = rid;

        Assert.IsFalse(task.Execute());

        Expect.Codes(engine, code);
        Assert.IsFalse(File.Exists(RecipeFile));
    }

    [TestMethod]
    public void A_bad_setting_fails_with_its_code_and_writes_no_recipe()
    {
        var cases = new (Action<ResolveBaseRecipeTask> Change, string Code)[]
        {
            (t => t.Suite = "Trixie", "DTV1001"),
            (t => t.Mirror = "ftp://deb.debian.org/debian", "DTV1003"),
            (t => t.Components = ["main,contrib"], "DTV1012"),
            (t => t.User = "App", "DTV3010"),
            (t => t.Keyring = _folder.Combine("missing.gpg"), "DTV1010"),
            (t => t.Packages = [new TaskItem("Curl")], "DTV1011"),
            (t => t.ExcludedPackages = [new TaskItem("-x")], "DTV1011"),
            (t => t.Trim = "fat", "DTV9006"),
        };

        foreach (var (change, code) in cases)
        {
            var (task, engine) = Create();
            change(task);

            Assert.IsFalse(task.Execute(), code);

            Expect.Codes(engine, code);
            Assert.IsFalse(File.Exists(RecipeFile), code);
        }
    }

    [TestMethod]
    [DataRow("none", "none")]
    [DataRow("Slim", "slim")]
    [DataRow("", "slim")]
    public void The_trim_level_is_recorded_in_its_canonical_form(string given, string recorded)
    {
        var (task, _) = Create();
        task.Trim = given;

        Assert.AreEqual(recorded, task.Build().Trim);
    }
}
