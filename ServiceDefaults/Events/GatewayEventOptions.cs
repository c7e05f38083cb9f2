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

    /// <summary>Most events sent to Redis in one pipelined batch. Default: 256.</summary>
    public int BatchSize { get; init; } = 256;
}
