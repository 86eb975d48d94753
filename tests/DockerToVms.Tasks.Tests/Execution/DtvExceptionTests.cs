using DockerToVms.Tasks.Execution;

namespace DockerToVms.Tasks.Tests.Execution;

[TestClass]
public sealed class DtvExceptionTests
{
    [TestMethod]
    public void An_exception_carries_the_code_name_and_values_of_its_message()
    {
        var error = new DtvException("SuiteInvalid", "Trixie");

        Assert.AreEqual("DTV1001", error.Code);
        Assert.AreEqual("SuiteInvalid", error.ResourceName);
        CollectionAssert.AreEqual(new object[] { "Trixie" }, error.Arguments.ToArray());
        StringAssert.StartsWith(error.Message, "DTV1001: ");
        StringAssert.Contains(error.Message, "'Trixie'");
    }

    [TestMethod]
    public void A_progress_message_has_no_code()
    {
        Assert.AreEqual(string.Empty, Messages.CodeOf(Messages.Format("StageTime", "trim", "1.0")));
    }

    [TestMethod]
    [DataRow("DTV1001: text", "DTV1001")]
    [DataRow("DockerToVms: a: b", "")]
    [DataRow("no code", "")]
    [DataRow("", "")]
    public void The_code_is_what_precedes_the_first_colon(string message, string code) =>
        Assert.AreEqual(code, Messages.CodeOf(message));

    [TestMethod]
    public void A_message_name_that_does_not_exist_is_a_programming_error()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new DtvException("NoSuchMessage"));
    }
}
