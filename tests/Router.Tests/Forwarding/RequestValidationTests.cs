using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.Forwarding;

/// <summary>Bad bodies get a precise 400 from the gateway itself, in the client's format, and never cost an upstream call.</summary>
public sealed class RequestValidationTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(string path, string body)
    {
        using var client = app.CreateClient();
        using var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), Cancellation);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement.Clone());
    }

    [Theory]
    [InlineData("""{"model":"mock/gpt-4o-mini"}""", "'messages' is required")]
    [InlineData("""{"model":"mock/gpt-4o-mini","messages":[]}""", "'messages' is required")]
    [InlineData("""{"model":"mock/gpt-4o-mini","messages":"hi"}""", "'messages' must be an array")]
    [InlineData("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":-1}""", "non-negative integers")]
    [InlineData("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":99999999999}""", "more than any model can produce")]
    [InlineData("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "'temperature' must be a non-negative number")]
    [InlineData("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"n":0}""", "'n' must be an integer from 1 to 128")]
    [InlineData("""{"model":"claude/sonnet","messages":[{"role":"user","content":"hi"}],"max_tokens":100000}""", "above the maximum of 64000")]
    [InlineData("""{"model":"mock/embed","messages":[{"role":"user","content":"hi"}]}""", "does not serve /v1/chat/completions")]
    [InlineData("""{"model":"claude/sonnet","messages":[{"role":"user","content":"hi"}],"n":2}""", "'n'")]
    public async Task Chat_completions_rejects_with_a_precise_openai_error(string body, string expected)
    {
        var (status, json) = await PostAsync("/v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = json.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains(expected, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", "'max_tokens' is required")]
    [InlineData("""{"model":"mock/gpt-4o-mini","max_tokens":16}""", "'messages' is required")]
    public async Task Messages_rejects_in_anthropic_format(string body, string expected)
    {
        var (status, json) = await PostAsync("/v1/messages", body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(expected, json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/embeddings", """{"model":"mock/embed"}""", "'input' is required")]
    [InlineData("/v1/completions", """{"model":"mock/instruct","prompt":[]}""", "'prompt' is required")]
    [InlineData("/v1/embeddings", """{"model":"claude/sonnet","input":"hi"}""", "does not serve /v1/embeddings")]
    public async Task Other_apis_check_their_own_fields(string path, string body, string expected)
    {
        var (status, json) = await PostAsync(path, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(expected, json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
