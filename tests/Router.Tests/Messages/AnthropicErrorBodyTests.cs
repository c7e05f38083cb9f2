using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Messages;

namespace Gateway.Aspire.Router.Tests.Messages;

public sealed class AnthropicErrorBodyTests
{
    private static (string Type, string Message) Read(byte[] body)
    {
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("error", root.GetProperty("type").GetString());
        var error = root.GetProperty("error");
        return (error.GetProperty("type").GetString()!, error.GetProperty("message").GetString()!);
    }

    [Theory]
    [InlineData(400, "invalid_request_error")]
    [InlineData(401, "authentication_error")]
    [InlineData(402, "billing_error")]
    [InlineData(403, "permission_error")]
    [InlineData(404, "not_found_error")]
    [InlineData(408, "invalid_request_error")]
    [InlineData(413, "request_too_large")]
    [InlineData(429, "rate_limit_error")]
    [InlineData(500, "api_error")]
    [InlineData(502, "api_error")]
    [InlineData(503, "overloaded_error")]
    [InlineData(504, "timeout_error")]
    [InlineData(529, "overloaded_error")]
    public void Status_gives_anthropics_error_type(int status, string type)
    {
        var (actualType, message) = Read(AnthropicErrorBody.Serialize(status, "The model 'gpt-5-turbo' does not exist."));

        Assert.Equal(type, actualType);
        Assert.Equal("The model 'gpt-5-turbo' does not exist.", message);
    }

    [Fact]
    public void Router_openai_error_is_re_rendered_with_its_message()
    {
        var openAi = OpenAiError.Serialize(OpenAiError.RateLimit, "rate_limit_exceeded", "Rate limit of 60 requests per minute reached; retry after 12 s.");

        var (type, message) = Read(AnthropicErrorBody.FromOpenAiError(429, openAi));

        Assert.Equal("rate_limit_error", type);
        Assert.Equal("Rate limit of 60 requests per minute reached; retry after 12 s.", message);
    }

    [Fact]
    public void Upstream_error_with_a_plain_string_error_keeps_the_string()
    {
        var (type, message) = Read(AnthropicErrorBody.FromOpenAiError(404, """{"error":"model \"llama3:70b\" not found, try pulling it first"}"""u8));

        Assert.Equal("not_found_error", type);
        Assert.Equal("model \"llama3:70b\" not found, try pulling it first", message);
    }

    [Theory]
    [InlineData("<html><body>Bad Gateway</body></html>")]
    [InlineData("""{"error":{"type":"server_error"}}""")]
    [InlineData("")]
    public void Unreadable_error_body_gets_a_message_naming_the_status(string body)
    {
        var (type, message) = Read(AnthropicErrorBody.FromOpenAiError(502, Encoding.UTF8.GetBytes(body)));

        Assert.Equal("api_error", type);
        Assert.Equal("The request failed with status 502.", message);
    }
}
