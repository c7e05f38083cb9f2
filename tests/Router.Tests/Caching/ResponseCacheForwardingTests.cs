using System.Net;
using Gateway.Aspire.Router.Tests.TestHosts;
using static Gateway.Aspire.Router.Tests.Caching.CacheCalls;

namespace Gateway.Aspire.Router.Tests.Caching;

/// <summary>
/// The response cache in the forwarder, over real HTTP (router → mock upstream), in memory (the
/// assembly's router has no Redis; <see cref="ResponseCacheRoutingTests"/> covers Redis and virtual models).
/// </summary>
public sealed class ResponseCacheForwardingTests(RouterAppFixture app)
{
    private async Task<(HttpResponseMessage Response, string Text)> PostAsync(string body, string? ttl = "60", string? cacheControl = null,
        string token = TestPolicy.GoodToken, string? requestId = null, string path = "/v1/chat/completions")
    {
        using var client = app.CreateClient(token);
        return await CacheCalls.PostAsync(client, body, ttl, cacheControl, requestId, path);
    }

    [Fact]
    public async Task SecondIdenticalRequest_IsAHit_WithTheSameBytes_BilledAtZeroCost()
    {
        var question = Unique("cache");
        var (first, firstText) = await PostAsync(Body(question, ",\"temperature\":0.5"));
        var hitId = Providers.EndToEnd.GatewayClients.NewRequestId("hit");

        var (second, secondText) = await PostAsync($$"""{ "temperature": 5e-1, "messages": [ { "content": "{{question}}", "role": "user" } ], "model": "mock/gpt-4o-mini", "user": "other" }""", requestId: hitId);

        Assert.Equal((HttpStatusCode.OK, "MISS"), (first.StatusCode, CacheHeader(first)));
        Assert.Equal((HttpStatusCode.OK, "HIT"), (second.StatusCode, CacheHeader(second)));
        Assert.Equal(firstText, secondText);
        var record = await app.Ledger.WaitForAsync(hitId);
        Assert.True(record.CacheHit);
        Assert.Null(record.Price);
        Assert.True(record.CompletionTokens > 0);
        Assert.Equal(("good", "mock/gpt-4o-mini"), (record.VirtualAccount, record.RequestedModel)); // attributed like any other row
    }

    [Fact]
    public async Task StreamHit_ReplaysTheSameEvents()
    {
        var body = Body(Unique("stream"), ",\"stream\":true");
        var (first, firstText) = await PostAsync(body);

        var (second, secondText) = await PostAsync(body);

        Assert.Equal(("MISS", "HIT"), (CacheHeader(first), CacheHeader(second)));
        Assert.Equal("text/event-stream", second.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("data: [DONE]\n\n", secondText, StringComparison.Ordinal);
        Assert.Equal(firstText, secondText);
        // The JSON form of the same question is its own entry.
        var (json, _) = await PostAsync(body.Replace(",\"stream\":true", "", StringComparison.Ordinal));
        Assert.Equal("MISS", CacheHeader(json));
    }

    [Fact]
    public async Task AnotherTenant_IsAMiss()
    {
        var body = Body(Unique("tenant"));
        await PostAsync(body);

        var (other, _) = await PostAsync(body, token: TestPolicy.CountedToken);

        Assert.Equal("MISS", CacheHeader(other));
    }

    [Fact]
    public async Task NoStore_NoCache_AndNoTtl_BehaveAsHttpSays()
    {
        var body = Body(Unique("directives"));

        var (off, _) = await PostAsync(body, ttl: null);
        var (noStore, _) = await PostAsync(body, cacheControl: "no-store");
        var (noCache1, text1) = await PostAsync(body, cacheControl: "no-cache");
        var (noCache2, _) = await PostAsync(body, cacheControl: "no-cache");
        var (hit, hitText) = await PostAsync(body);

        Assert.Null(CacheHeader(off));
        Assert.Null(CacheHeader(noStore));
        Assert.Equal(("MISS", "MISS", "HIT"), (CacheHeader(noCache1), CacheHeader(noCache2), CacheHeader(hit)));
        Assert.NotEqual(text1, hitText); // the second no-cache answer replaced the first
    }

    [Theory]
    [InlineData("0")]
    [InlineData("soon")]
    public async Task BadTtl_Is400(string ttl)
    {
        var (response, text) = await PostAsync(Body("bad ttl"), ttl: ttl);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"code\":\"invalid_cache_ttl\"", text, StringComparison.Ordinal);
    }
}
