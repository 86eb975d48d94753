using DockerToVms.Tasks.Recipe;
using DockerToVms.Tasks.Tests.Infrastructure;

namespace DockerToVms.Tasks.Tests.Recipe;

/// <summary>The recipe digest: equal recipes share a cache entry, changed ones do not.</summary>
[TestClass]
public sealed class BaseRecipeTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("dtv-recipe-");
    private string _config = string.Empty;

    [TestInitialize]
    public void CreateConfig()
    {
        _config = _folder.Write("app.conf", "listen 8080\n");
    }

    public void Dispose() => _folder.Dispose();

    private BaseRecipe Recipe() => new()
    {
        Suite = "trixie",
        Mirror = "http://deb.debian.org/debian",
        Variant = "minbase",
        Architecture = "amd64",
        Packages = ["libc6", "tzdata", "curl"],
        Files = [new RecipeFile(_config, "/etc/app.conf", "0644")],
        Runs = ["echo one", "echo two"],
        User = "app",
        Trim = "slim",
    };

    [TestMethod]
    public void The_digest_is_lower_case_hex_sha256()
    {
        var digest = Recipe().ComputeDigest();

        Assert.AreEqual(64, digest.Length);
        Assert.IsTrue(digest.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f')), digest);
    }

    [TestMethod]
    public void The_same_recipe_gives_the_same_digest()
    {
        Assert.AreEqual(Recipe().ComputeDigest(), Recipe().ComputeDigest());
    }

    [TestMethod]
    public void Package_order_does_not_change_the_digest()
    {
        var reordered = Recipe() with { Packages = ["curl", "tzdata", "libc6"] };

        Assert.AreEqual(Recipe().ComputeDigest(), reordered.ComputeDigest());
    }

    [TestMethod]
    public void A_package_named_twice_does_not_change_the_digest()
    {
        var doubled = Recipe() with { Packages = ["libc6", "tzdata", "curl", "curl", "libc6"] };

        Assert.AreEqual(Recipe().ComputeDigest(), doubled.ComputeDigest());
    }

    [TestMethod]
    public void Excluded_package_order_does_not_change_the_digest()
    {
        var first = Recipe() with { ExcludedPackages = ["e2fsprogs", "apt"] };
        var second = Recipe() with { ExcludedPackages = ["apt", "e2fsprogs", "apt"] };

        Assert.AreEqual(first.ComputeDigest(), second.ComputeDigest());
    }

    [TestMethod]
    public void A_trailing_slash_on_the_mirror_does_not_change_the_digest()
    {
        var slashed = Recipe() with { Mirror = "http://deb.debian.org/debian/" };

        Assert.AreEqual(Recipe().ComputeDigest(), slashed.ComputeDigest());
    }

    [TestMethod]
    public void A_changed_suite_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with { Suite = "bookworm" });

    [TestMethod]
    public void A_changed_mirror_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with { Mirror = "http://ftp.de.debian.org/debian" });

    [TestMethod]
    public void A_changed_architecture_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with { Architecture = "arm64" });

    [TestMethod]
    public void A_changed_variant_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with { Variant = "buildd" });

    [TestMethod]
    public void An_added_package_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with { Packages = ["libc6", "tzdata", "curl", "jq"] });

    [TestMethod]
    public void A_changed_run_command_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with { Runs = ["echo one", "echo three"] });

    [TestMethod]
    public void Reordered_run_commands_give_a_new_digest() =>
        AssertNewDigest(Recipe() with { Runs = ["echo two", "echo one"] });

    [TestMethod]
    public void A_changed_user_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with { User = "web" });

    [TestMethod]
    public void A_changed_user_id_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with { UserId = 1000 });

    [TestMethod]
    public void A_changed_trim_level_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with { Trim = "none" });

    [TestMethod]
    public void A_changed_file_mode_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with
        {
            Files = [new RecipeFile(_config, "/etc/app.conf", "0600")],
        });

    [TestMethod]
    public void A_changed_file_destination_gives_a_new_digest() =>
        AssertNewDigest(Recipe() with
        {
            Files = [new RecipeFile(_config, "/etc/other.conf", "0644")],
        });

    [TestMethod]
    public void A_changed_content_of_a_copied_file_gives_a_new_digest()
    {
        var before = Recipe().ComputeDigest();

        File.WriteAllText(_config, "listen 8081\n");

        Assert.AreNotEqual(before, Recipe().ComputeDigest());
    }

    [TestMethod]
    public void A_copied_file_touched_without_change_keeps_the_digest()
    {
        var before = Recipe().ComputeDigest();

        File.SetLastWriteTimeUtc(_config, DateTime.UtcNow.AddDays(-3));

        Assert.AreEqual(before, Recipe().ComputeDigest());
    }

    [TestMethod]
    public void A_changed_keyring_content_gives_a_new_digest()
    {
        var keyring = _folder.Write("archive.gpg", "key one");
        var before = (Recipe() with { Keyring = keyring }).ComputeDigest();

        File.WriteAllText(keyring, "key two");

        Assert.AreNotEqual(before, (Recipe() with { Keyring = keyring }).ComputeDigest());
        Assert.AreNotEqual(Recipe().ComputeDigest(), before);
    }

    private void AssertNewDigest(BaseRecipe changed) =>
        Assert.AreNotEqual(Recipe().ComputeDigest(), changed.ComputeDigest());
}
