namespace Gateway.Aspire.ServiceDefaults.Events;

/// <summary>Settings of <see cref="GatewayEventPublisher"/>, bound from the <c>Events</c> section.</summary>
public sealed record GatewayEventOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Events";

    /// <summary>Whether events are published at all. Default: true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Events held in memory for the background writer; when full, new events are dropped and counted. Default: 10000.</summary>
    public int Capacity { get; init; } = 10_000;

    /// <summary>Most events sent to Redis in one script call (one round trip). Default: 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>
    /// How long the writer waits after the first event of a batch for more to join it, so a busy
    /// process sends a few large batches rather than one call per event. Default: 10 ms (the live
    /// feed is for dashboards; the ledger is the record).
    /// </summary>
    public TimeSpan BatchDelay { get; init; } = TimeSpan.FromMilliseconds(10);
}
