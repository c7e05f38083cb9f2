using System.Text;
using Gateway.Aspire.Router.Providers.Anthropic;

namespace Gateway.Aspire.Router.Tests.Providers.Anthropic;

public sealed class AnthropicErrorsTests
{
    [Theory]
    [InlineData("""{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5-20250929"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}""",
        "invalid_request_error", "max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5-20250929")]
    [InlineData("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", "overloaded_error", "Overloaded")]
    [InlineData("""{"type":"error","error":{"type":"rate_limit_error"}}""", "rate_limit_error", "The Anthropic API reported a rate_limit_error without a message.")]
    [InlineData("""{"error":{"message":"Upstream proxy refused the request"}}""", "api_error", "Upstream proxy refused the request")]
    [InlineData("""{"error":"Service Unavailable"}""", "api_error", "Service Unavailable")]
    [InlineData("", "api_error", "The Anthropic API answered with an empty error body.")]
    [InlineData("<html><body>502 Bad Gateway</body></html>", "api_error", "The Anthropic API answered with an error body not in its error format: <html><body>502 Bad Gateway</body></html>")]
    public void Error_type_and_message_are_read_with_fallbacks(string body, string type, string message)
    {
        var (actualType, actualMessage) = AnthropicErrors.Read(Encoding.UTF8.GetBytes(body));

        Assert.Equal(type, actualType);
        Assert.Equal(message, actualMessage);
    }

    [Fact]
    public void A_long_foreign_body_is_quoted_only_in_part()
    {
        var (_, message) = AnthropicErrors.Read(Encoding.UTF8.GetBytes(new string('x', 10_000)));

        Assert.EndsWith(new string('x', AnthropicErrors.MaxQuotedChars) + "…", message, StringComparison.Ordinal);
        Assert.True(message.Length < 500);
    }
}
