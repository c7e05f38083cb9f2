using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Tests.Pii;

public sealed class CheckDigitsTests
{
    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("4111 1111 1111 1111", true)]
    [InlineData("378282246310005", true)]
    [InlineData("4111111111111112", false)]
    [InlineData("", false)]
    public void Luhn(string number, bool valid) => Assert.Equal(valid, CheckDigits.Luhn(number));

    [Theory]
    [InlineData("DE89370400440532013000", true)]
    [InlineData("GB82WEST12345698765432", true)]
    [InlineData("NO9386011117947", true)]
    [InlineData("DE88370400440532013000", false)]
    [InlineData("de89370400440532013000", false)]
    public void IbanMod97(string iban, bool valid) => Assert.Equal(valid, CheckDigits.IbanMod97(iban));

    [Theory]
    [InlineData("021000021", true)]
    [InlineData("011000015", true)]
    [InlineData("021000022", false)]
    [InlineData("000000000", false)]
    [InlineData("02100002", false)]
    public void AbaRouting(string number, bool valid) => Assert.Equal(valid, CheckDigits.AbaRouting(number));
}
