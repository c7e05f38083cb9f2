using System.Text;
using Gateway.Aspire.Router.Caching;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Tests.Caching;

/// <summary>Cached answers for tests.</summary>
internal static class CacheEntries
{
    public static readonly DateTimeOffset Now = new(2030, 1, 7, 12, 0, 0, TimeSpan.Zero);

    public static CachedResponse Json(string body = """{"id":"chatcmpl-1","choices":[]}""", TimeSpan? ttl = null) => new()
    {
        StatusCode = 200,
        ContentType = "application/json",
        Form = ResponseForm.Json,
        Body = Encoding.UTF8.GetBytes(body),
        Usage = new TokenUsage(12, 5, 2) { CacheWriteTokens = 1, ReasoningTokens = 3, Estimated = true },
        ServedModel = "claude/sonnet",
        Provider = "anthropic",
        StoredAt = Now,
        ExpiresAt = Now + (ttl ?? TimeSpan.FromMinutes(1)),
    };
}
