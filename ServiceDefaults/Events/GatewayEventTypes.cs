namespace Gateway.Aspire.ServiceDefaults.Events;

/// <summary>The <c>type</c> of each gateway event; consumers filter on these names.</summary>
public static class GatewayEventTypes
{
    /// <summary>A model request was admitted and is about to be served.</summary>
    public const string RequestStart = "model.request.start";

    /// <summary>A model request was answered (any status).</summary>
    public const string RequestComplete = "model.request.complete";

    /// <summary>The first byte of a streamed answer reached the client.</summary>
    public const string StreamingStart = "model.streaming.start";

    /// <summary>A budget crossed one of its alert thresholds.</summary>
    public const string BudgetWarning = "model.budget.warning";

    /// <summary>A budget refused a call or was exceeded.</summary>
    public const string BudgetExceeded = "model.budget.exceeded";
}
