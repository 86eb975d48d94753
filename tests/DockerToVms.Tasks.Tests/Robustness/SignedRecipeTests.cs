using DockerToVms.Tasks.Recipe;

namespace DockerToVms.Tasks.Tests.Robustness;

/// <summary>Allowing an unsigned archive is part of the recipe, and changes nothing else.</summary>
[TestClass]
public sealed class SignedRecipeTests
{
    private static BaseRecipe Recipe() => new()
    {
        Suite = "trixie",
        Mirror = "http://deb.debian.org/debian",
        Variant = "minbase",
        Architecture = "amd64",
    };

    [TestMethod]
    public void Allowing_an_unsigned_archive_gives_another_digest()
    {
        Assert.AreNotEqual(Recipe().ComputeDigest(),
            (Recipe() with { AllowUnsigned = true }).ComputeDigest());
    }

    [TestMethod]
    public void A_signed_recipe_keeps_the_digest_it_had_before_the_option_existed()
    {
        Assert.IsFalse(Recipe().ToCanonicalJson().Contains("unsigned", StringComparison.Ordinal));
    }
}
