using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.ServiceDefaults.Configuration;

/// <summary>Source-generated log messages of the live configuration (<see cref="LiveConfigSubscriber{T}"/>).</summary>
internal static partial class LiveConfigLog
{
    [LoggerMessage(EventId = 900, EventName = "LiveConfigLoaded", Level = LogLevel.Information,
        Message = "Live configuration ({Config}) version {Version} in force, replacing version {Previous} (on {Trigger}; read and loaded in {ElapsedMs:0.0} ms)")]
    public static partial void Loaded(ILogger logger, string config, long version, long previous, string trigger, double elapsedMs);

    [LoggerMessage(EventId = 901, EventName = "LiveConfigRejected", Level = LogLevel.Error,
        Message = "Live configuration ({Config}) version {Version} is invalid; version {Current} stays in force: {Error}")]
    public static partial void Rejected(ILogger logger, string config, long version, long current, string error);

    [LoggerMessage(EventId = 902, EventName = "LiveConfigReadFailed", Level = LogLevel.Warning,
        Message = "Live configuration ({Config}) could not be read from Redis; the current version stays in force until the next try: {Error}")]
    public static partial void ReadFailed(ILogger logger, string config, string error);

    [LoggerMessage(EventId = 903, EventName = "LiveConfigSubscribeFailed", Level = LogLevel.Warning,
        Message = "Live configuration ({Config}) announcements could not be subscribed to; polling until Redis is back: {Error}")]
    public static partial void SubscribeFailed(ILogger logger, string config, string error);
}
