using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.ServiceDefaults.Events;

/// <summary>Log messages of the event publisher.</summary>
internal static partial class GatewayEventsLog
{
    [LoggerMessage(EventId = 20, EventName = "EventStreamsUnsupported", Level = LogLevel.Information,
        Message = "The Redis server has no streams ({Reason}); gateway events go to the pub/sub channel only")]
    public static partial void StreamsUnsupported(ILogger logger, string reason);

    [LoggerMessage(EventId = 21, EventName = "EventsLost", Level = LogLevel.Warning,
        Message = "{Count} gateway events could not be written to Redis and are dropped")]
    public static partial void EventsLost(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 22, EventName = "EventsRecovered", Level = LogLevel.Information,
        Message = "Gateway events reach Redis again")]
    public static partial void EventsRecovered(ILogger logger);

    [LoggerMessage(EventId = 23, EventName = "EventsLostAtShutdown", Level = LogLevel.Warning,
        Message = "{Count} gateway events were still queued when the shutdown timeout ran out and are dropped")]
    public static partial void LostAtShutdown(ILogger logger, int count);
}
