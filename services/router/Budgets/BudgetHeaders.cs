using System.Globalization;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.ServiceDefaults.Billing;

namespace Gateway.Aspire.Router.Budgets;

/// <summary>
/// Where the tightest budget stands, on every answer a budget applied to (successes and 429s alike,
/// as <c>x-ratelimit-*</c> are): <c>x-gateway-budget</c> (the rule id), <c>x-gateway-budget-limit</c> and
/// <c>x-gateway-budget-remaining</c> (USD, invariant decimal, this call's reservation already taken off)
/// and <c>x-gateway-budget-reset</c> (when the period ends, RFC 3339 UTC).
/// </summary>
/// <remarks>
/// Tightest = least remaining of every budget the call touched, soft ones included (a client pacing
/// itself cares about the first limit it will meet); on a budget refusal, the budget that refused, so
/// the headers agree with the error. Amounts are USD rather than nano-USD: what people configure and read.
/// A timestamp rather than OpenAI's <c>6m0s</c> durations: budget periods last days.
/// </remarks>
internal static class BudgetHeaders
{
    /// <summary>The budget's rule id (also on the budget 429).</summary>
    public const string Rule = "x-gateway-budget";

    /// <summary>The budget per period, USD.</summary>
    public const string Limit = "x-gateway-budget-limit";

    /// <summary>What is left of it in this period, USD (never negative).</summary>
    public const string Remaining = "x-gateway-budget-remaining";

    /// <summary>When the period ends and a fresh budget starts (RFC 3339, UTC).</summary>
    public const string Reset = "x-gateway-budget-reset";

    /// <summary>Writes the headers of the tightest budget in <paramref name="admit"/>; nothing when no budget applied.</summary>
    public static void Write(HttpResponse response, AdmitReply admit)
    {
        if (Tightest(admit) is not { } budget)
        {
            return;
        }

        response.Headers[Rule] = budget.Rule;
        response.Headers[Limit] = Usd(budget.LimitNanoUsd);
        response.Headers[Remaining] = Usd(Math.Max(0, budget.LimitNanoUsd - budget.SpentNanoUsd));
        if (budget.ResetsAt is { } resetsAt)
        {
            response.Headers[Reset] = resetsAt.ToDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The budget the headers describe: the refusing one, else the one with the least left.</summary>
    internal static BudgetStatus? Tightest(AdmitReply admit)
    {
        BudgetStatus? tightest = null;
        foreach (var budget in admit.Budgets)
        {
            if (admit.Decision == AdmitDecision.BudgetExceeded && budget.Rule == admit.BudgetRule)
            {
                return budget;
            }

            if (tightest is null || budget.LimitNanoUsd - budget.SpentNanoUsd < tightest.LimitNanoUsd - tightest.SpentNanoUsd)
            {
                tightest = budget;
            }
        }

        return tightest;
    }

    private static string Usd(long nanoUsd) => NanoUsd.ToUsd(nanoUsd).ToString("0.#########", CultureInfo.InvariantCulture);
}
