namespace Gateway.Aspire.ServiceDefaults.Events;

/// <summary>
/// Where gateway events (<c>model.request.start</c>, <c>model.request.complete</c>,
/// <c>model.streaming.start</c>, <c>model.budget.warning</c>, <c>model.budget.exceeded</c>) are
/// published: appended to a capped Redis stream when the server supports streams, and always on a
/// pub/sub channel. Each event is one JSON object with at least <c>type</c>, <c>time</c> (ISO-8601
/// UTC) and <c>id</c>.
/// </summary>
public static class GatewayEventChannel
{
    /// <summary>The capped Redis stream (field <c>event</c> holds the JSON).</summary>
    public const string Stream = "gateway.events";

    /// <summary>The pub/sub channel (the message is the JSON).</summary>
    public const string Channel = "gateway.events";

    /// <summary>Approximate cap of <see cref="Stream"/> (<c>XADD MAXLEN ~</c>).</summary>
    public const int StreamMaxLength = 100_000;
}
