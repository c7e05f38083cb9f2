using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;

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
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    public void Server_errors_and_rejected_gateway_credentials_become_502(HttpStatusCode status)
    {
        var mapped = UpstreamErrors.FromStatus(status, "application/json", s_openAiError, "mock");

        Assert.Equal(502, mapped.Status);
        Assert.Equal("upstream_error", Error(mapped).GetProperty("type").GetString());
        Assert.Contains("'mock'", Error(mapped).GetProperty("message").GetString() + "'mock'", StringComparison.Ordinal);
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
