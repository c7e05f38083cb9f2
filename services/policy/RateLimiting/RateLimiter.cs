using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.RateLimiting;

/// <summary>Who is calling what, as rate-limit rules see it.</summary>
/// <param name="Subjects">The caller's subjects (<c>user:</c>, <c>team:</c>, <c>virtualaccount:</c>; see <see cref="Tokens.TokenRecord.Subjects"/>).</param>
/// <param name="VirtualAccount">The virtual account's name, or empty.</param>
/// <param name="Model">The requested <c>&lt;account&gt;/&lt;model&gt;</c>.</param>
/// <param name="Metadata">The caller's <c>x-gateway-metadata</c>.</param>
/// <param name="EstimatedPromptTokens">The router's estimate of the prompt.</param>
/// <param name="MaxTokens">The request's max_tokens, 0 when unknown.</param>
public sealed record RateLimitCall(
    IReadOnlyList<string> Subjects,
    string VirtualAccount,
    string Model,
    IReadOnlyDictionary<string, string> Metadata,
    long EstimatedPromptTokens,
    long MaxTokens)
{
    /// <summary>A personal token's user; empty otherwise. Default: empty.</summary>
    public string User { get; init; } = "";

    /// <summary>The caller's teams (a user's, or the virtual account's owner). Default: none.</summary>
    public IReadOnlyList<string> Teams { get; init; } = [];
}

/// <summary>The verdict of the rule that applied.</summary>
/// <param name="Rule">The rule.</param>
/// <param name="Allowed">Whether the call fits.</param>
/// <param name="Remaining">Units left after this call.</param>
/// <param name="Reset">Until the counter is back to the full limit.</param>
/// <param name="RetryAfter">For a refused call: until it would fit; null when it never can (cost above the limit).</param>
/// <param name="Cost">Units this call counted (or would have).</param>
/// <param name="Reservation">Handle for <see cref="RateLimiter.SettleAsync"/> of an admitted token reservation, else empty.</param>
public sealed record RateLimitOutcome(
    RateLimitRule Rule, bool Allowed, long Remaining, TimeSpan Reset, TimeSpan? RetryAfter, long Cost, string Reservation);

/// <summary>
/// Applies the first matching rule with one atomic Redis script (<see cref="SlidingWindowScripts"/>):
/// the check and the reservation happen together, so any number of policy replicas sharing Redis
/// admit exactly up to the limit.
/// </summary>
public sealed class RateLimiter(RateLimitRules rules, IConnectionMultiplexer redis, TimeProvider time)
{
    /// <summary>Buckets per window: capacity comes back at most window/60 late (see <see cref="SlidingWindowScripts"/>).</summary>
    public const int Buckets = 60;

    /// <summary>Completion tokens reserved when the request sets no max_tokens and the model declares none. Settled to actual usage afterwards.</summary>
    public const long DefaultMaxTokens = 1024;

    /// <summary>Redis key prefix of the counters.</summary>
    public const string KeyPrefix = "policy:rl:";

    /// <summary>The loaded rules.</summary>
    public RateLimitRules Rules => rules;

    /// <summary>Checks and counts the call against the first rule it matches; null when none does.</summary>
    public async Task<RateLimitOutcome?> AdmitAsync(RateLimitCall call)
    {
        var rule = rules.FirstMatch(call.Subjects, call.Model, call.Metadata);
        if (rule is null)
        {
            return null;
        }

        var cost = rule.Unit.Kind == RateLimitKind.Requests
            ? 1
            : Math.Max(0, call.EstimatedPromptTokens) + (call.MaxTokens > 0 ? call.MaxTokens : DefaultMaxTokens);
        var key = CounterKey(rule, call);
        var windowMs = (long)rule.Unit.Window.TotalMilliseconds;
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(SlidingWindowScripts.Admit, new
        {
            key = (RedisKey)key,
            now = time.GetUtcNow().ToUnixTimeMilliseconds(),
            limit = rule.LimitTo,
            window = windowMs,
            buckets = Buckets,
            cost,
        }))!;

        var allowed = (long)result[0] == 1;
        var used = (long)result[1];
        var retryMs = (long)result[3];
        var reservation = allowed && rule.Unit.Kind == RateLimitKind.Tokens
            ? string.Create(CultureInfo.InvariantCulture, $"{(long)result[4]}:{windowMs}:{cost}:{key}")
            : "";
        return new RateLimitOutcome(
            rule,
            allowed,
            Math.Max(0, rule.LimitTo - used),
            TimeSpan.FromMilliseconds((long)result[2]),
            allowed ? TimeSpan.Zero : retryMs < 0 ? null : TimeSpan.FromMilliseconds(retryMs),
            cost,
            reservation);
    }

    /// <summary>
    /// Moves a token reservation to the tokens actually used (gives back the unused estimate, or adds
    /// what the estimate missed). False when the reservation is malformed or its bucket has left the window.
    /// </summary>
    public async Task<bool> SettleAsync(string reservation, long actualTokens)
    {
        var parts = reservation.Split(':', 4);
        if (parts.Length != 4
            || !long.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bucket)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var windowMs)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var reserved)
            || !parts[3].StartsWith(KeyPrefix, StringComparison.Ordinal)
            || windowMs <= 0)
        {
            return false;
        }

        var delta = Math.Max(0, actualTokens) - reserved;
        if (delta == 0)
        {
            return true;
        }

        var result = await redis.GetDatabase().ScriptEvaluateAsync(SlidingWindowScripts.Settle, new
        {
            key = (RedisKey)parts[3],
            now = time.GetUtcNow().ToUnixTimeMilliseconds(),
            window = windowMs,
            buckets = Buckets,
            bucket,
            delta,
        });
        return (long)result == 1;
    }

    /// <summary>
    /// <c>policy:rl:&lt;rule&gt;:&lt;unit&gt;[:&lt;values of applies_per&gt;]</c>. The unit is part of
    /// the key so a changed unit starts a fresh counter. Caller-controlled values (metadata) are
    /// hashed so keys stay short and free of separators.
    /// </summary>
    internal static string CounterKey(RateLimitRule rule, RateLimitCall call)
    {
        var key = new StringBuilder(KeyPrefix).Append(rule.Id).Append(':').Append(rule.Unit.Name);
        if (rule.AppliesPer.Count == 0)
        {
            return key.ToString();
        }

        var values = new StringBuilder();
        foreach (var dimension in rule.AppliesPer)
        {
            // Callers without a user (virtual accounts) or team (older tokens) share the empty value.
            var value = dimension switch
            {
                "model" => call.Model,
                "virtualaccount" => call.VirtualAccount,
                "user" => call.User,
                "team" => CounterTeam(rule, call.Teams),
                _ => call.Metadata.TryGetValue(dimension["metadata.".Length..], out var v) ? v : "",
            };
            values.Append(dimension).Append('=').Append(value).Append('\u001f');
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(values.ToString()));
        return key.Append(':').Append(Convert.ToHexStringLower(hash, 0, 16)).ToString();
    }

    /// <summary>
    /// The team whose counter a call by a member of several teams counts against: the first of its
    /// teams the rule names in <c>when.subjects</c>, else the first by name (teams are sorted).
    /// </summary>
    internal static string CounterTeam(RateLimitRule rule, IReadOnlyList<string> teams)
    {
        foreach (var team in teams)
        {
            if (rule.Subjects.Contains("team:" + team, StringComparer.Ordinal))
            {
                return team;
            }
        }

        return teams.Count > 0 ? teams[0] : "";
    }
}
