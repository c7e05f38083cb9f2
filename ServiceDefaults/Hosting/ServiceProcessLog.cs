using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>Source-generated log messages of <see cref="ServiceProcess"/>.</summary>
internal static partial class ServiceProcessLog
{
    [LoggerMessage(EventId = 930, EventName = "ServiceStartFailed", Level = LogLevel.Critical,
        Message = "{Application} failed to start: {Cause}")]
    public static partial void StartFailed(ILogger logger, string application, string cause);

    [LoggerMessage(EventId = 931, EventName = "ServiceStoppedOnError", Level = LogLevel.Critical,
        Message = "{Application} stopped on an error: {Cause}")]
    public static partial void StoppedOnError(ILogger logger, string application, string cause);

    // The stack trace, for a developer who turns Debug on; the critical line above names the cause.
    [LoggerMessage(EventId = 932, EventName = "ServiceFailureDetail", Level = LogLevel.Debug,
        Message = "The failure in full")]
    public static partial void FailureDetail(ILogger logger, Exception exception);
}
