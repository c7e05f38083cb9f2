using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.ServiceDefaults.Background;

/// <summary>Source-generated log messages of <see cref="BackgroundLoop"/>.</summary>
internal static partial class BackgroundLoopLog
{
    [LoggerMessage(EventId = 920, EventName = "BackgroundIterationFailed", Level = LogLevel.Error,
        Message = "{Loop}: an iteration failed ({Failures} in a row); the loop goes on in {DelaySeconds:0.#} s")]
    public static partial void IterationFailed(ILogger logger, string loop, int failures, double delaySeconds, Exception exception);

    [LoggerMessage(EventId = 921, EventName = "BackgroundStopFailed", Level = LogLevel.Error,
        Message = "{Loop}: finishing its work on stop failed")]
    public static partial void StopFailed(ILogger logger, string loop, Exception exception);
}
