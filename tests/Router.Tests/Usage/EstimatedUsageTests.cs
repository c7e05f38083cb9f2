using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.Router.Usage;

namespace Gateway.Aspire.Router.Tests.Usage;

/// <summary>
/// Calls whose provider reports no usage, or whose stream is cut off, are still billed: the router
/// counts what was sent and received with the tokenizer and marks the record estimated.
/// </summary>
public sealed class EstimatedUsageTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static string Body(string model, bool stream = false) =>
        $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Explain how a gateway bills a call."}]}""";

    private async Task<(HttpResponseMessage Response, byte[] Bytes, string RequestId)> PostAsync(string body)
    {
        using var client = app.CreateClient();
        var requestId = "est-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-request-id", requestId);
        var response = await client.SendAsync(request, Cancellation);
        return (response, await response.Content.ReadAsByteArrayAsync(Cancellation), requestId);
    }

    [Fact]
    public async Task Answer_without_usage_is_counted_with_the_tokenizer()
    {
        var body = Body("nousage/gpt-4o-mini");

        var (response, bytes, requestId) = await PostAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("\"usage\"", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.True(record.UsageEstimated);
        Assert.Equal(TokenEstimator.Shared.CountPrompt(Encoding.UTF8.GetBytes(body), "gpt-4o-mini"), record.PromptTokens);
        Assert.Equal(TokenEstimator.Shared.CountCompletion(bytes, stream: false, "gpt-4o-mini"), record.CompletionTokens);
        // Two messages of text plus the cookbook's overhead (3 per message, 3 to prime the reply).
        Assert.InRange(record.PromptTokens, 15, 30);
        Assert.True(record.CompletionTokens > 5);
    }

    [Fact]
    public async Task Stream_from_a_server_that_ignores_include_usage_is_counted_from_what_was_relayed()
    {
        var (response, bytes, requestId) = await PostAsync(Body("nousage/gpt-4o-mini", stream: true));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.True(record.UsageEstimated);
        Assert.Equal(TokenEstimator.Shared.CountCompletion(bytes, stream: true, "gpt-4o-mini"), record.CompletionTokens);
        Assert.True(record.CompletionTokens > 5);
        Assert.True(record.PromptTokens > 0);
    }

    [Fact]
    public async Task Provider_reported_usage_is_not_marked_estimated()
    {
        var (_, _, requestId) = await PostAsync(Body("mock/gpt-4o-mini", stream: true));

        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.False(record.UsageEstimated);
        Assert.True(record.CompletionTokens > 0);
    }

    [Fact]
    public async Task Stream_the_client_leaves_is_billed_for_what_it_was_sent()
    {
        // 150 ms between chunks of a 9-word answer: read a few, then hang up.
        // No draining: a disposed response must close the connection, as a client that goes away does.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = app.RouterUrl };
        client.DefaultRequestHeaders.Authorization = new("Bearer", TestPolicy.GoodToken);
        var requestId = "est-cut-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Body("slow/gpt-4o-mini", stream: true), Encoding.UTF8, "application/json") };
        request.Headers.Add("x-request-id", requestId);
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation))
        {
            await using var stream = await response.Content.ReadAsStreamAsync(Cancellation);
            var seen = 0;
            var buffer = new byte[4096];
            while (seen < 4)
            {
                var read = await stream.ReadAsync(buffer, Cancellation);
                Assert.True(read > 0);
                seen += Encoding.UTF8.GetString(buffer, 0, read).Split("data: ").Length - 1;
            }
        }

        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.Equal(499, record.StatusCode);
        Assert.True(record.UsageEstimated);
        Assert.InRange(record.CompletionTokens, 1, 8);
        Assert.True(record.PromptTokens > 0);
    }
}
