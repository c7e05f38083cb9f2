using Gateway.Aspire.Policy.Rules;

namespace Gateway.Aspire.Policy.Budgets;

/// <summary>
/// One rule of a <c>gateway-budget-config</c> document, or the document's global
/// <c>daily_limit_usd</c> (see <see cref="BudgetRules.GlobalDaily"/>).
/// </summary>
public sealed record BudgetRule
{
    /// <summary>Unique id; named in 429 errors and part of the counter's key. Required.</summary>
    public required string Id { get; init; }

    /// <summary><c>when</c>: which calls the rule applies to. Default: every call.</summary>
    public RuleConditions When { get; init; } = RuleConditions.Any;

    /// <summary><c>limit_to</c>: USD per period. Required, positive, at most <see cref="ServiceDefaults.Billing.NanoUsd.MaxExactUsd"/>.</summary>
    public required decimal LimitUsd { get; init; }

    /// <summary><see cref="LimitUsd"/> in nano-USD, as the counters count.</summary>
    public long LimitNanoUsd => ServiceDefaults.Billing.NanoUsd.FromUsd(LimitUsd);

    /// <summary><c>unit</c>: the period. Required.</summary>
    public required BudgetPeriod Period { get; init; }

    /// <summary><c>budget_applies_per</c>: as <c>rate_limit_applies_per</c>. Default: empty (one budget for every matching call).</summary>
    public IReadOnlyList<string> AppliesPer { get; init; } = [];

    /// <summary><c>mode</c>: hard budgets refuse calls that could exceed them; soft ones only record the crossing. Default: hard.</summary>
    public bool Hard { get; init; } = true;

    /// <summary><c>alerts</c>. Default: none.</summary>
    public BudgetAlerts? Alerts { get; init; }

    /// <summary>Where the rule came from, for messages.</summary>
    public string Source { get; init; } = "";
}

/// <summary>Every budget of the <c>gateway-budget-config</c> documents.</summary>
/// <param name="Rules">The rules, in file order.</param>
/// <param name="GlobalDaily">The global <c>daily_limit_usd</c> as a rule (id <see cref="GlobalDailyId"/>), or null.</param>
/// <remarks>
/// TrueFoundry's semantics: the first matching rule decides (blocks when hard and exhausted), and
/// every matching rule counts the call's cost, so layered budgets (a team override above a company
/// default) keep the lower rule's spend true. The global daily limit is checked on every call
/// besides the first match: both must allow it.
/// </remarks>
public sealed record BudgetRules(IReadOnlyList<BudgetRule> Rules, BudgetRule? GlobalDaily = null)
{
    /// <summary>The id the global daily limit is known by (in errors, logs and its counter); no rule may take it.</summary>
    public const string GlobalDailyId = "daily_limit_usd";

    /// <summary>No budgets.</summary>
    public static readonly BudgetRules None = new([]);

    /// <summary>Whether any budget exists.</summary>
    public bool Any => Rules.Count > 0 || GlobalDaily is not null;

    /// <summary>The rules a call matches, in file order (the first decides).</summary>
    public IEnumerable<BudgetRule> Matching(AdmissionCall call) => Rules.Where(r => r.When.Matches(call.Subjects, call.Model, call.Metadata));
}
