using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Google.Protobuf.WellKnownTypes;

namespace Gateway.Aspire.Policy.Tests.Tokens;

public sealed class CreateTokenValidatorTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Valid_TrimsNameAndDeduplicatesModels()
    {
        var request = new CreateTokenRequest { Name = "  ci  ", Models = { "mock/gpt-4o-mini", "hf/meta-llama/Llama-3", "mock/gpt-4o-mini" } };

        var valid = CreateTokenValidator.Validate(request, Now, out var error);

        Assert.Null(error);
        Assert.NotNull(valid);
        Assert.Equal("ci", valid.Name);
        Assert.Equal(["mock/gpt-4o-mini", "hf/meta-llama/Llama-3"], valid.Models);
        Assert.Null(valid.ExpiresAt);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("bad\nname")]
    public void InvalidName_IsRejected(string name)
    {
        Assert.Null(CreateTokenValidator.Validate(new CreateTokenRequest { Name = name }, Now, out var error));
        Assert.Contains("'name'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void NameOf100CharactersIsAcceptedAnd101Rejected()
    {
        Assert.NotNull(CreateTokenValidator.Validate(new CreateTokenRequest { Name = new string('n', 100) }, Now, out _));
        Assert.Null(CreateTokenValidator.Validate(new CreateTokenRequest { Name = new string('n', 101) }, Now, out var error));
        Assert.Contains("100", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpt-4o-mini")]
    [InlineData("/gpt-4o")]
    [InlineData("mock/")]
    [InlineData("mock/gpt 4o")]
    [InlineData("")]
    public void InvalidModel_IsRejected(string model)
    {
        var request = new CreateTokenRequest { Name = "ci", Models = { model } };

        Assert.Null(CreateTokenValidator.Validate(request, Now, out var error));
        Assert.Contains("<account>/<model>", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpiryInThePast_IsRejected_AndInTheFutureAccepted()
    {
        var past = new CreateTokenRequest { Name = "ci", ExpiresAt = Timestamp.FromDateTimeOffset(Now) };
        var future = new CreateTokenRequest { Name = "ci", ExpiresAt = Timestamp.FromDateTimeOffset(Now.AddMinutes(1)) };

        Assert.Null(CreateTokenValidator.Validate(past, Now, out var error));
        Assert.Contains("future", error, StringComparison.Ordinal);
        Assert.Equal(Now.AddMinutes(1), CreateTokenValidator.Validate(future, Now, out _)?.ExpiresAt);
    }
}
