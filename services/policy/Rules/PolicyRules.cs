using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.RateLimiting;

namespace Gateway.Aspire.Policy.Rules;

/// <summary>
/// Everything policy reads from the configuration, as one immutable snapshot: the live
/// configuration swaps it whole (<see cref="ServiceDefaults.Configuration.LiveConfig{T}"/>), and one
/// admission reads it once, so its rate limit and its budgets always come from the same version.
/// </summary>
/// <param name="RateLimits">The <c>gateway-rate-limiting-config</c> rules.</param>
/// <param name="Budgets">The <c>gateway-budget-config</c> rules.</param>
public sealed record PolicyRules(RateLimitRules RateLimits, BudgetRules Budgets)
{
    /// <summary>No rules: nothing is limited or budgeted.</summary>
    public static readonly PolicyRules None = new(RateLimitRules.None, BudgetRules.None);

    /// <summary>Whether any rate-limit rule or budget is configured.</summary>
    public bool Any => RateLimits.Rules.Count > 0 || Budgets.Any;

    /// <summary>Loads the rules of the file at <paramref name="path"/>.</summary>
    public static PolicyRules Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Parses and validates configuration text; <paramref name="source"/> is only used in messages.</summary>
    public static PolicyRules Parse(string text, string source) =>
        new(RateLimitConfigLoader.Parse(text, source), BudgetConfigLoader.Parse(text, source));
}
