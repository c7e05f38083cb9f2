using Gateway.Aspire.Accounting.Grpc;
using Google.Protobuf.WellKnownTypes;

namespace Gateway.Aspire.Router.Caching;

/// <summary>The ledger record of an answer served from the cache.</summary>
internal static class CacheHitRecord
{
    /// <summary>
    /// A usage record for <paramref name="hit"/>: <c>cache_hit</c> set, the cached answer's tokens
    /// reported, no price (no provider was paid; the ledger also prices every cache hit at 0), the
    /// model and provider that produced the answer.
    /// </summary>
    public static UsageRecord Create(CachedResponse hit, string requestId, DateTimeOffset startedAt, string tokenId, string tokenName,
        string requestedModel, double latencyMs, double timeToFirstTokenMs) => new()
    {
        RequestId = requestId,
        StartedAt = Timestamp.FromDateTimeOffset(startedAt),
        TokenId = tokenId,
        TokenName = tokenName,
        RequestedModel = requestedModel,
        ServedModel = hit.ServedModel,
        Provider = hit.Provider,
        PromptTokens = hit.Usage.PromptTokens,
        CompletionTokens = hit.Usage.CompletionTokens,
        CachedTokens = hit.Usage.CachedTokens,
        CacheWriteTokens = hit.Usage.CacheWriteTokens,
        ReasoningTokens = hit.Usage.ReasoningTokens,
        UsageEstimated = hit.Usage.Estimated,
        LatencyMs = latencyMs,
        TimeToFirstTokenMs = timeToFirstTokenMs,
        StatusCode = hit.StatusCode,
        ErrorType = "",
        Streamed = hit.IsEventStream,
        CacheHit = true,
    };
}
