using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers;

namespace Gateway.Aspire.Router.Tests.Forwarding;

public sealed class UpstreamErrorsTests
{
    private static readonly byte[] s_openAiError = """{"error":{"message":"bad temperature","type":"invalid_request_error","code":null,"param":"temperature"}}"""u8.ToArray();

    [Fact]
    public void Client_errors_keep_status_and_upstream_openai_body()
    {
        var mapped = UpstreamErrors.FromStatus(HttpStatusCode.BadRequest, "application/json", s_openAiError, "mock");

        Assert.Equal(400, mapped.Status);
        Assert.Equal(s_openAiError, mapped.Body);
    }

    [Fact]
    public void Non_json_client_error_gets_an_openai_style_body()
    {
        var mapped = UpstreamErrors.FromStatus(HttpStatusCode.NotFound, "text/html", "<html>nope</html>"u8, "mock");

        Assert.Equal(404, mapped.Status);
        Assert.Equal("upstream_status_404", Error(mapped).GetProperty("code").GetString());
    }

    [Fact]
    public void Rate_limit_stays_429()
    {
        Assert.Equal(429, UpstreamErrors.FromStatus(HttpStatusCode.TooManyRequests, "application/json", s_openAiError, "mock").Status);
        var plain = UpstreamErrors.FromStatus(HttpStatusCode.TooManyRequests, null, default, "mock");
        Assert.Equal(429, plain.Status);
        Assert.Equal("rate_limit_error", Error(plain).GetProperty("type").GetString());
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    public void Server_errors_and_rejected_gateway_credentials_become_502(HttpStatusCode status)
    {
        var mapped = UpstreamErrors.FromStatus(status, "application/json", s_openAiError, "mock");

        Assert.Equal(502, mapped.Status);
        Assert.Equal("upstream_error", Error(mapped).GetProperty("type").GetString());
        Assert.Contains("'mock'", Error(mapped).GetProperty("message").GetString() + "'mock'", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(503, 503, "upstream_overloaded")]
    [InlineData(529, 503, "upstream_overloaded")]
    [InlineData(504, 504, "upstream_timeout")]
    public void Overload_stays_retryable_and_timeouts_stay_timeouts(int upstream, int expected, string code)
    {
        var mapped = UpstreamErrors.FromStatus((HttpStatusCode)upstream, "application/json", s_openAiError, "mock");

        Assert.Equal(expected, mapped.Status);
        Assert.Equal(code, Error(mapped).GetProperty("code").GetString());
    }

    [Fact]
    public void Anthropic_error_body_is_rendered_in_openai_shape_with_its_message()
    {
        var body = """{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"""u8;

        var mapped = UpstreamErrors.FromStatus(HttpStatusCode.BadRequest, "application/json", body, "claude", WireFormat.Anthropic);

        Assert.Equal(400, mapped.Status);
        Assert.Contains("max_tokens: Field required", Error(mapped).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("upstream_status_400", Error(mapped).GetProperty("code").GetString());
    }

    [Fact]
    public void Gemini_invalid_key_is_the_gateways_credentials_not_the_clients()
    {
        var body = """{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"""u8;

        var mapped = UpstreamErrors.FromStatus(HttpStatusCode.BadRequest, "application/json", body, "google", WireFormat.Gemini);

        Assert.Equal(502, mapped.Status);
        Assert.Equal("upstream_auth_failed", Error(mapped).GetProperty("code").GetString());
    }

    [Fact]
    public void Gemini_rate_limit_keeps_429_and_message()
    {
        var body = """{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"""u8;

        var mapped = UpstreamErrors.FromStatus(HttpStatusCode.TooManyRequests, "application/json", body, "google", WireFormat.Gemini);

        Assert.Equal(429, mapped.Status);
        Assert.Contains("Resource has been exhausted", Error(mapped).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Unreachable_is_502_and_timeout_504()
    {
        Assert.Equal(502, UpstreamErrors.Unreachable("mock").Status);
        Assert.Equal("upstream_unreachable", Error(UpstreamErrors.Unreachable("mock")).GetProperty("code").GetString());
        Assert.Equal(504, UpstreamErrors.Timeout("mock").Status);
    }

    private static JsonElement Error(MappedError mapped) =>
        JsonDocument.Parse(Encoding.UTF8.GetString(mapped.Body)).RootElement.GetProperty("error");
}
