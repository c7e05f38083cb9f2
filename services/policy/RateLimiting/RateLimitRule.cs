using Gateway.Aspire.Policy.Rules;

namespace Gateway.Aspire.Policy.RateLimiting;

/// <summary>What a rate limit counts.</summary>
public enum RateLimitKind
{
    /// <summary>Calls: each admission counts 1.</summary>
    Requests,

    /// <summary>Prompt + completion tokens: an estimate is reserved at admission and settled to actual usage.</summary>
    Tokens,
}

/// <summary>A <c>unit</c> of a rule, e.g. <c>tokens_per_minute</c>.</summary>
/// <param name="Name">The unit as written in the file.</param>
/// <param name="Kind">Requests or tokens.</param>
/// <param name="Window">The window the limit applies to (a minute, an hour, a day).</param>
public sealed record RateLimitUnit(string Name, RateLimitKind Kind, TimeSpan Window)
{
    /// <summary>Every unit TrueFoundry defines for rate limits.</summary>
    public static readonly IReadOnlyList<RateLimitUnit> All =
    [
        new("requests_per_minute", RateLimitKind.Requests, TimeSpan.FromMinutes(1)),
        new("requests_per_hour", RateLimitKind.Requests, TimeSpan.FromHours(1)),
        new("requests_per_day", RateLimitKind.Requests, TimeSpan.FromDays(1)),
        new("tokens_per_minute", RateLimitKind.Tokens, TimeSpan.FromMinutes(1)),
        new("tokens_per_hour", RateLimitKind.Tokens, TimeSpan.FromHours(1)),
        new("tokens_per_day", RateLimitKind.Tokens, TimeSpan.FromDays(1)),
    ];
}

/// <summary>One rule of a <c>gateway-rate-limiting-config</c> document.</summary>
public sealed record RateLimitRule
{
    /// <summary>Unique id; named in 429 errors and part of the counter's key. Required.</summary>
    public required string Id { get; init; }

    /// <summary><c>when</c>: which calls the rule applies to. Default: every call.</summary>
    public RuleConditions When { get; init; } = RuleConditions.Any;

    /// <summary><c>limit_to</c>: units allowed per window. Required, positive.</summary>
    public required long LimitTo { get; init; }

    /// <summary><c>unit</c>. Required.</summary>
    public required RateLimitUnit Unit { get; init; }

    /// <summary>
    /// <c>rate_limit_applies_per</c>: up to two of <c>user</c>, <c>team</c>, <c>model</c>,
    /// <c>virtualaccount</c>, <c>metadata.&lt;key&gt;</c>; a separate counter per combination of
    /// values. Default: empty (one counter shared by every matching call).
    /// </summary>
    public IReadOnlyList<string> AppliesPer { get; init; } = [];

    /// <summary>Where the rule came from, for messages.</summary>
    public string Source { get; init; } = "";
}

/// <summary>The rules of every <c>gateway-rate-limiting-config</c> document, in file order (first match wins).</summary>
/// <param name="Rules">The rules.</param>
public sealed record RateLimitRules(IReadOnlyList<RateLimitRule> Rules)
{
    /// <summary>No rules: nothing is limited.</summary>
    public static readonly RateLimitRules None = new([]);

    /// <summary>The first rule the call matches, or null.</summary>
    public RateLimitRule? FirstMatch(IReadOnlyList<string> subjects, string model, IReadOnlyDictionary<string, string> metadata)
    {
        foreach (var rule in Rules)
        {
            if (rule.When.Matches(subjects, model, metadata))
            {
                return rule;
            }
        }

        return null;
    }
}
