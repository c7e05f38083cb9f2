using System.Security.Cryptography;
using System.Text;
using Gateway.Aspire.Policy.Tokens;

namespace Gateway.Aspire.Policy.Tests.Tokens;

public sealed class TokenSecretTests
{
    [Fact]
    public void Generate_ProducesPrefixAnd43Base64UrlChars()
    {
        var token = TokenSecret.Generate();

        Assert.Equal(50, token.Length);
        Assert.StartsWith("gw-vat-", token, StringComparison.Ordinal);
        Assert.Matches("^gw-vat-[A-Za-z0-9_-]{43}$", token);
        Assert.True(TokenSecret.IsWellFormed(token));
    }

    [Fact]
    public void Generate_IsRandom()
    {
        var tokens = Enumerable.Range(0, 1000).Select(_ => TokenSecret.Generate()).ToHashSet();

        Assert.Equal(1000, tokens.Count);
    }

    [Fact]
    public void Hash_IsSha256OfTheWholeToken()
    {
        var token = TokenSecret.Generate();

        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(token)), TokenSecret.Hash(token));
    }

    [Fact]
    public void DisplayPrefix_KeepsFourSecretCharacters()
    {
        var token = TokenSecret.Generate();

        Assert.Equal(token[..11], TokenSecret.DisplayPrefix(token));
        Assert.Equal("gw-vat-", TokenSecret.DisplayPrefix(token)[..7]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("gw-vat-")]
    [InlineData("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH")]
    [InlineData("gw-vat-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 42 chars
    [InlineData("gw-vat-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 44 chars
    [InlineData("gw-vat-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A")] // '+' is not base64url
    [InlineData("gw-vat-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")] // non-canonical last character
    [InlineData("GW-VAT-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void IsWellFormed_RejectsOtherShapes(string candidate)
    {
        Assert.False(TokenSecret.IsWellFormed(candidate));
    }

    [Fact]
    public void IsWellFormed_AcceptsCanonicalAllZeroSecret()
    {
        Assert.True(TokenSecret.IsWellFormed("gw-vat-" + new string('A', 43)));
    }
}
