namespace Gateway.Aspire.ServiceDefaults.Alerts;

/// <summary>
/// The durable queue of alerts awaiting delivery: a Redis stream that policy (budget thresholds,
/// inside its admission script) and accounting (error-rate and latency rules) append to, and that
/// accounting's dispatcher reads with a consumer group, acknowledging an entry only once every
/// target has it. Each entry is flat string fields, named by the constants below.
/// </summary>
/// <remarks>
/// Raisers deduplicate before appending (a Redis <c>SET NX</c> per alert), so an entry means "notify
/// once"; the queue only has to deliver at least once, and per-target markers
/// (<see cref="DeliveredKeyPrefix"/>) keep a retried entry from reaching a target twice.
/// </remarks>
public static class AlertQueue
{
    /// <summary>The stream.</summary>
    public const string Stream = "gateway.alerts";

    /// <summary>The consumer group every accounting replica reads with.</summary>
    public const string Group = "accounting";

    /// <summary>
    /// Approximate cap (<c>XADD MAXLEN ~</c>). Alerts are rare (one per threshold, scope and period), so
    /// the cap only bounds a queue nobody consumes; trimming would drop its oldest undelivered entries.
    /// </summary>
    public const int MaxLength = 10_000;

    /// <summary>Prefix of the per-target "delivered" markers: <c>&lt;prefix&gt;&lt;entry id&gt;:&lt;target index&gt;</c>.</summary>
    public const string DeliveredKeyPrefix = "gateway.alerts:delivered:";

    /// <summary>Field: the event type, e.g. <c>model.budget.warning</c>.</summary>
    public const string Kind = "kind";

    /// <summary>Field: the budget or alert rule id.</summary>
    public const string Rule = "rule";

    /// <summary>Field: who the alert is about, human-readable (<c>team=research</c>, <c>model=openai/gpt-4o</c>); empty for a rule-wide budget.</summary>
    public const string Scope = "scope";

    /// <summary>Field: the threshold crossed: percent of the budget, error-rate percent, or latency milliseconds.</summary>
    public const string Threshold = "threshold";

    /// <summary>Field: the measured value (budget: spent nano-USD; error rate: percent; latency: milliseconds), invariant culture.</summary>
    public const string Value = "value";

    /// <summary>Field: budget alerts, the limit in nano-USD.</summary>
    public const string Limit = "limit";

    /// <summary>Field: budget alerts, when the period ends (Unix milliseconds).</summary>
    public const string PeriodEnd = "period_end";

    /// <summary>Field: model alerts, the window measured, in seconds.</summary>
    public const string Window = "window";

    /// <summary>Field: model alerts, the requests in the window.</summary>
    public const string Requests = "requests";

    /// <summary>Field: when the alert was raised, Unix milliseconds.</summary>
    public const string Time = "time";

    /// <summary>Field: the notification targets, a JSON array of <c>{"type","url"}</c> / <c>{"type":"email","to":[...]}</c>.</summary>
    public const string Targets = "targets";

    /// <summary>Event type: a budget crossed a warning threshold.</summary>
    public const string BudgetWarning = "model.budget.warning";

    /// <summary>Event type: a budget reached 100 %, or a hard budget refused a call.</summary>
    public const string BudgetExceeded = "model.budget.exceeded";

    /// <summary>Event type: a model's error rate went over its rule's threshold.</summary>
    public const string ErrorRate = "model.alert.error_rate";

    /// <summary>Event type: a model's p95 latency went over its rule's threshold.</summary>
    public const string Latency = "model.alert.latency";
}
