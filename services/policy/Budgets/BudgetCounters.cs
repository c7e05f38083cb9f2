using System.Globalization;
using System.Runtime.CompilerServices;
using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.ServiceDefaults.Configuration;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Budgets;

/// <summary>Where one budget stands after an admission.</summary>
/// <param name="Rule">The budget.</param>
/// <param name="Enforced">Whether it could refuse this call: the first matching rule when hard, and the global daily limit.</param>
/// <param name="SpentNanoUsd">Spent and reserved in the period, this call included when it was admitted.</param>
/// <param name="ResetsAt">When the period ends and a fresh counter starts.</param>
/// <param name="CrossedThresholdPercent">The highest alert threshold this admission crossed, 0 when none.</param>
public sealed record BudgetStanding(BudgetRule Rule, bool Enforced, long SpentNanoUsd, DateTimeOffset ResetsAt, int CrossedThresholdPercent)
{
    /// <summary>Whether the period's spend (reservations included) is above the limit.</summary>
    public bool Exceeded => SpentNanoUsd > Rule.LimitNanoUsd;
}

/// <summary>The budgets' verdict on one call.</summary>
/// <param name="Budgets">Every budget the call touched, the deciding rule first.</param>
/// <param name="Blocked">The enforced budget the call could exceed, or null when it was not refused by a budget.</param>
/// <param name="CostNanoUsd">What the call reserved (or would have).</param>
/// <param name="Reservation">Handle for <see cref="BudgetCounters.SettleAsync"/> when the call was admitted, else empty.</param>
public sealed record BudgetOutcome(IReadOnlyList<BudgetStanding> Budgets, BudgetStanding? Blocked, long CostNanoUsd, string Reservation);

/// <summary>A budget counter a call touches, with the period it counts.</summary>
internal sealed record BudgetTouch(BudgetRule Rule, BudgetCharge Charge, DateTimeOffset PeriodEnd);

/// <summary>
/// Budget counters in Redis: one integer of nano-USD per rule, <c>budget_applies_per</c> values and
/// period (<c>policy:budget:&lt;rule&gt;:&lt;unit&gt;:&lt;period start&gt;[:&lt;hash&gt;]</c>), so a new period is
/// simply a new key and the old one expires a day after its period ended. Admission reserves the
/// call's maximum cost inside <see cref="AdmissionScript"/>; settlement moves it to the actual cost.
/// </summary>
public sealed class BudgetCounters(LiveConfig<PolicyRules> rules, IConnectionMultiplexer redis)
{
    /// <summary>Counters of fixed <paramref name="budgets"/> (tests and tools without live configuration).</summary>
    public BudgetCounters(BudgetRules budgets, IConnectionMultiplexer redis)
        : this(new LiveConfig<PolicyRules>(PolicyRules.None with { Budgets = budgets }), redis)
    {
    }

    /// <summary>Redis key prefix of the counters.</summary>
    public const string KeyPrefix = "policy:budget:";

    /// <summary>
    /// Prefix of the alert flags <see cref="AdmissionScript"/> sets beside each counter
    /// (<c>policy:budget-alert:&lt;counter key after the prefix&gt;:&lt;percent&gt;</c>): a prefix of
    /// their own, so whatever walks the counters (the spend rebuild) never meets them.
    /// </summary>
    public const string AlertFlagPrefix = "policy:budget-alert:";

    // Each rule's alert levels in the script's form, built on first use and kept with the rule (rules
    // are immutable and replaced whole by a live configuration change): the hot path only looks them up.
    private static readonly ConditionalWeakTable<BudgetRule, string> s_alertLevels = new();

    // Each rule-wide budget's counter key of its current period (see CounterKey).
    private static readonly ConditionalWeakTable<BudgetRule, StrongBox<PeriodKey?>> s_periodKeys = new();

    // Settlements come seconds after admission; a day covers the longest stream and a late retry.
    private static readonly TimeSpan s_keepAfterPeriod = TimeSpan.FromDays(1);

    /// <summary>The budgets in force.</summary>
    public BudgetRules Budgets => rules.Current.Budgets;

    /// <summary>The counters of <paramref name="budgets"/> that <paramref name="call"/> touches at <paramref name="now"/>: every matching rule (the first enforced when hard) and the global daily limit.</summary>
    internal static IReadOnlyList<BudgetTouch> Touches(AdmissionCall call, DateTimeOffset now, BudgetRules budgets)
    {
        if (!budgets.Any)
        {
            return [];
        }

        var touches = new List<BudgetTouch>();
        foreach (var rule in budgets.Matching(call))
        {
            touches.Add(Touch(rule, enforced: touches.Count == 0 && rule.Hard, call, now));
        }

        if (budgets.GlobalDaily is { } global)
        {
            touches.Add(Touch(global, enforced: true, call, now));
        }

        return touches;
    }

    /// <summary>The verdict from what the admission script found.</summary>
    internal static BudgetOutcome Outcome(IReadOnlyList<BudgetTouch> touches, AdmissionScriptResult result, long costNanoUsd)
    {
        var standings = new BudgetStanding[touches.Count];
        for (var i = 0; i < touches.Count; i++)
        {
            var (rule, charge, end) = touches[i];
            var before = result.SpentBefore[i];
            var after = result.Admitted ? before + costNanoUsd : before;
            standings[i] = new BudgetStanding(rule, charge.Enforced, after, end, CrossedThreshold(rule, before, after));
        }

        var reservation = result.Admitted && touches.Count > 0
            ? string.Join('\n', touches.Select(t => t.Charge.Key).Prepend(costNanoUsd.ToString(CultureInfo.InvariantCulture)))
            : "";
        return new BudgetOutcome(standings, result.BlockedBudget >= 0 ? standings[result.BlockedBudget] : null, costNanoUsd, reservation);
    }

    /// <summary>
    /// Moves a reservation to the call's actual cost on every counter it was made against (gives back
    /// what was not spent, or adds what the reservation missed). False when the handle is malformed or
    /// no counter is left (expired a day after its period).
    /// </summary>
    /// <remarks>Budget counters are settled whatever the time (a counter expires a day after its period), so no clock is needed.</remarks>
    public async Task<bool> SettleAsync(string reservation, long actualCostNanoUsd)
    {
        var batch = new SettlementBatch();
        return batch.AddCost(reservation, actualCostNanoUsd) && await batch.ApplyAsync(redis.GetDatabase(), now: default, batchId: null) > 0;
    }

    /// <summary>The counter of <paramref name="rule"/> for the call's <c>budget_applies_per</c> values in the period starting <paramref name="periodStart"/>.</summary>
    internal static string CounterKey(BudgetRule rule, AdmissionCall call, DateTimeOffset periodStart)
    {
        if (rule.AppliesPer.Count > 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{KeyPrefix}{rule.Id}:{rule.Period.Name}:{periodStart:yyyy-MM-dd}{RuleScope.KeySuffix(rule.AppliesPer, rule.When.Subjects, call)}");
        }

        // One counter per period for the rule: formatted once per period rather than per admission. The
        // box holds an immutable pair, so concurrent admissions read a consistent one (at worst two format it).
        var box = s_periodKeys.GetValue(rule, static _ => new StrongBox<PeriodKey?>());
        if (box.Value is { } cached && cached.Start == periodStart)
        {
            return cached.Key;
        }

        var key = string.Create(CultureInfo.InvariantCulture, $"{KeyPrefix}{rule.Id}:{rule.Period.Name}:{periodStart:yyyy-MM-dd}");
        box.Value = new PeriodKey(periodStart, key);
        return key;
    }

    private static BudgetTouch Touch(BudgetRule rule, bool enforced, AdmissionCall call, DateTimeOffset now)
    {
        var (start, end) = rule.Period.Containing(now);
        var alert = new BudgetAlertCharge(
            s_alertLevels.GetValue(rule, AlertLevels), rule.Id, RuleScope.Label(rule.AppliesPer, rule.When.Subjects, call), rule.Alerts?.TargetsJson ?? "[]", end);
        return new BudgetTouch(rule, new BudgetCharge(CounterKey(rule, call, start), rule.LimitNanoUsd, enforced, end + s_keepAfterPeriod, alert), end);
    }

    private sealed record PeriodKey(DateTimeOffset Start, string Key);

    /// <summary>
    /// "<c>percent level notify</c>" triples for <see cref="AdmissionScript"/>: each threshold (its
    /// targets told) and 100 % (the exceeded event; targets told only when 100 is a threshold).
    /// Levels round up, so "reached" means spend ≥ exactly that percentage of the limit.
    /// </summary>
    internal static string AlertLevels(BudgetRule rule)
    {
        var thresholds = rule.Alerts?.Thresholds ?? [];
        var levels = thresholds.Select(t => (Percent: t, Notify: true));
        if (!thresholds.Contains(100))
        {
            levels = levels.Append((100, false));
        }

        return string.Join(' ', levels.Select(l => string.Create(CultureInfo.InvariantCulture,
            $"{l.Percent} {decimal.Ceiling((decimal)rule.LimitNanoUsd * l.Percent / 100m)} {(l.Notify ? 1 : 0)}")));
    }

    // The highest threshold t with before < t% of the limit <= after (percent math in decimal: no overflow, no rounding).
    private static int CrossedThreshold(BudgetRule rule, long before, long after)
    {
        var crossed = 0;
        foreach (var threshold in rule.Alerts?.Thresholds ?? [])
        {
            var level = (decimal)rule.LimitNanoUsd * threshold / 100m;
            if (before < level && level <= after)
            {
                crossed = threshold;
            }
        }

        return crossed;
    }
}
