using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using Gateway.Aspire.Router.Apis;
using Gateway.Aspire.Router.Tests.Providers.EndToEnd;
using Gateway.Aspire.Router.Tests.Routing;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI;
using OpenAI.Chat;
using static Gateway.Aspire.Router.Tests.Caching.CacheCalls;

namespace Gateway.Aspire.Router.Tests.Caching;

/// <summary>
/// The response cache with Redis, shared by two router replicas, for virtual models: rule
/// <c>cached</c> of <see cref="RoutingAppFixture"/> turns the cache on (<c>cache: {ttl_seconds}</c>)
/// for <c>cached-chat</c>, whose first target always answers 500 and whose second answers.
/// </summary>
public sealed class ResponseCacheRoutingTests(RouterAppFixture app, RoutingAppFixture routing) : IClassFixture<RoutingAppFixture>, IAsyncLifetime
{
    public ValueTask InitializeAsync() => new(routing.StartAsync(app));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task A_virtual_models_fallback_answer_is_cached_under_the_virtual_name_for_every_replica()
    {
        var body = Body(Unique("virtual"), model: "cached-chat");
        var before = await SummaryAsync();
        var hitId = GatewayClients.NewRequestId("hit");

        var (first, firstText) = await PostAsync(routing.Client(), body);
        var (second, secondText) = await PostAsync(routing.Client(replicaB: true), body, requestId: hitId);

        Assert.Equal((HttpStatusCode.OK, "MISS"), (first.StatusCode, CacheHeader(first)));
        Assert.EndsWith("cache2/m 200", RoutingTestClient.Header(first, "x-gateway-attempts"), StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, "HIT"), (second.StatusCode, CacheHeader(second)));
        Assert.Equal(firstText, secondText);
        Assert.Equal("cache2/m", RoutingTestClient.Header(second, "x-gateway-model"));
        Assert.Equal("", RoutingTestClient.Header(second, "x-gateway-attempts"));
        var record = await app.Ledger.WaitForAsync(hitId);
        Assert.Equal((true, "cached-chat", "cache2/m", 200), (record.CacheHit, record.RequestedModel, record.ServedModel, record.StatusCode));
        Assert.Null(record.Price);
        Assert.True(record.CompletionTokens > 0);
        Assert.False(app.Ledger.TryGet(hitId + "-a2", out _));
        var after = await SummaryAsync();
        Assert.Equal((before.CacheHits + 1, before.TotalRequests + 1), (after.CacheHits, after.TotalRequests));

        // The key is the requested name: the target that answered, called by its own name, is another question.
        var (direct, _) = await PostAsync(routing.Client(), body.Replace("cached-chat", "cache2/m", StringComparison.Ordinal), ttl: "60");
        Assert.Equal("MISS", CacheHeader(direct));
    }

    [Fact]
    public async Task The_openai_sdk_sees_miss_then_hit_in_the_raw_response_headers()
    {
        var chat = new ChatClient("cached-chat", new ApiKeyCredential(TestPolicy.GoodToken), new OpenAIClientOptions
        {
            Endpoint = new Uri(new Uri(routing.RouterA.Urls.First()), "/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });
        ChatMessage[] messages = [new UserChatMessage(Unique("sdk"))];

        var first = await chat.CompleteChatAsync(messages, cancellationToken: Ct);
        var second = await chat.CompleteChatAsync(messages, cancellationToken: Ct);

        Assert.Equal(("MISS", "HIT"), (CacheStatus(first), CacheStatus(second)));
        Assert.Equal((first.Value.Id, first.Value.Content[0].Text), (second.Value.Id, second.Value.Content[0].Text));
        Assert.True(second.Value.Usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task Two_tenants_asking_the_same_question_each_get_their_own_answer_on_both_replicas()
    {
        var body = Body(Unique("tenants"), model: "cached-chat");
        var countedHitId = GatewayClients.NewRequestId("hit");

        var (good, goodText) = await PostAsync(routing.Client(), body);
        var (counted, countedText) = await PostAsync(routing.Client(replicaB: true, token: TestPolicy.CountedToken), body);
        var (goodAgain, goodAgainText) = await PostAsync(routing.Client(replicaB: true), body);
        var (countedAgain, countedAgainText) = await PostAsync(routing.Client(token: TestPolicy.CountedToken), body, requestId: countedHitId);

        Assert.Equal(("MISS", "MISS", "HIT", "HIT"), (CacheHeader(good), CacheHeader(counted), CacheHeader(goodAgain), CacheHeader(countedAgain)));
        Assert.NotEqual(goodText, countedText); // the mock's answers carry a fresh id: each tenant has its own
        Assert.Equal(goodText, goodAgainText);
        Assert.Equal(countedText, countedAgainText);
        // A hit gives the admitted token estimate back: nothing was spent upstream.
        var settle = await TestPolicy.WaitForSettleAsync(countedHitId);
        Assert.Equal((0L, 0L), (settle.ActualTokens, settle.ActualCostNanoUsd));
        var record = await app.Ledger.WaitForAsync(countedHitId);
        Assert.Equal((true, "tok-counted"), (record.CacheHit, record.TokenId));
    }

    [Fact]
    public async Task A_stream_that_broke_after_the_first_byte_is_never_stored()
    {
        var body = Body(Unique("broken"), ",\"stream\":true", model: "cached-truncated");

        var (first, firstText) = await PostAsync(routing.Client(), body);
        var (second, secondText) = await PostAsync(routing.Client(replicaB: true), body);

        Assert.Equal(("MISS", "MISS"), (CacheHeader(first), CacheHeader(second)));
        Assert.Contains("upstream_stream_truncated", firstText, StringComparison.Ordinal);
        Assert.Contains("upstream_stream_truncated", secondText, StringComparison.Ordinal);
    }

    private static string? CacheStatus(ClientResult result) =>
        result.GetRawResponse().Headers.TryGetValue("x-gateway-cache", out var value) ? value : null;

    /// <summary>Replica B's request totals.</summary>
    private async Task<MetricsSummary> SummaryAsync() =>
        (await RoutingTestClient.AdminAsync<MetricsSummary>(routing.Client(replicaB: true, token: null), "/admin/v1/metrics/summary"))!;
}
