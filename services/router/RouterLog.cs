namespace Gateway.Aspire.Router;

/// <summary>Router log messages. Never pass keys, prompts or completions here.</summary>
internal static partial class RouterLog
{
    [LoggerMessage(1, LogLevel.Information, "Loaded gateway configuration {Path}: {Accounts} provider account(s), {Models} model(s)", EventName = "ConfigLoaded")]
    public static partial void ConfigLoaded(ILogger logger, string path, int accounts, int models);

    [LoggerMessage(10, LogLevel.Warning, "Policy service call failed for request {RequestId}: {Status}", EventName = "PolicyUnavailable")]
    public static partial void PolicyUnavailable(ILogger logger, string requestId, Grpc.Core.StatusCode status);

    [LoggerMessage(11, LogLevel.Warning, "Guardrails service call failed for request {RequestId}: {Status}", EventName = "GuardrailsUnavailable")]
    public static partial void GuardrailsUnavailable(ILogger logger, string requestId, Grpc.Core.StatusCode status);

    [LoggerMessage(12, LogLevel.Information, "Request {RequestId} blocked by guardrail {Guardrail} ({Category})", EventName = "GuardrailBlocked")]
    public static partial void GuardrailBlocked(ILogger logger, string requestId, string guardrail, string category);

    [LoggerMessage(13, LogLevel.Warning, "Guardrails unreachable for request {RequestId} ({Stage}): {Outcome} by the rules' on_error {Rules}", EventName = "GuardrailsOnError")]
    public static partial void GuardrailsOnError(ILogger logger, string requestId, string stage, string outcome, string rules);

    [LoggerMessage(14, LogLevel.Warning, "Moderation model {Model} failed for request {RequestId} ({Reason}); the built-in classifier decides", EventName = "ExternalModerationFailed")]
    public static partial void ExternalModerationFailed(ILogger logger, string requestId, string model, string reason);

    [LoggerMessage(20, LogLevel.Warning, "Upstream {Account} unreachable for request {RequestId}: {Error}", EventName = "UpstreamUnreachable")]
    public static partial void UpstreamUnreachable(ILogger logger, string account, string requestId, HttpRequestError error);

    [LoggerMessage(21, LogLevel.Warning, "Upstream {Account} timed out for request {RequestId}", EventName = "UpstreamTimeout")]
    public static partial void UpstreamTimeout(ILogger logger, string account, string requestId);

    [LoggerMessage(22, LogLevel.Warning, "Upstream {Account} answered {Status} for request {RequestId}", EventName = "UpstreamError")]
    public static partial void UpstreamError(ILogger logger, string account, int status, string requestId);

    [LoggerMessage(23, LogLevel.Warning, "Upstream {Account} stream broke off for request {RequestId}", EventName = "UpstreamStreamBroken")]
    public static partial void UpstreamStreamBroken(ILogger logger, string account, string requestId, Exception exception);

    [LoggerMessage(25, LogLevel.Warning, "Upstream {Account} sent an unreadable answer for request {RequestId}: {Reason}", EventName = "UpstreamInvalidBody")]
    public static partial void UpstreamInvalidBody(ILogger logger, string account, string requestId, string reason);

    [LoggerMessage(24, LogLevel.Debug, "Client went away during request {RequestId}", EventName = "ClientDisconnected")]
    public static partial void ClientDisconnected(ILogger logger, string requestId);

    [LoggerMessage(30, LogLevel.Debug, "Shipped {Count} usage record(s): {Written} written, {Duplicates} duplicate(s)", EventName = "UsageShipped")]
    public static partial void UsageShipped(ILogger logger, int count, int written, int duplicates);

    [LoggerMessage(31, LogLevel.Warning, "Shipping {Count} usage record(s) failed ({Status}); retrying in {Delay}", EventName = "UsageShipFailed")]
    public static partial void UsageShipFailed(ILogger logger, int count, Grpc.Core.StatusCode status, TimeSpan delay);

    [LoggerMessage(32, LogLevel.Error, "Shutdown deadline reached with {Count} usage record(s) not acknowledged by accounting; they are lost", EventName = "UsageLostAtShutdown")]
    public static partial void UsageLostAtShutdown(ILogger logger, int count);

    [LoggerMessage(33, LogLevel.Error, "Usage record of request {RequestId} arrived after the usage queue closed; it is lost", EventName = "UsageAfterClose")]
    public static partial void UsageAfterClose(ILogger logger, string requestId);

    [LoggerMessage(34, LogLevel.Error, "Accounting rejected the usage record of request {RequestId} as invalid and it will not be retried: {Reason}", EventName = "UsageRejected")]
    public static partial void UsageRejected(ILogger logger, string requestId, string reason);

    [LoggerMessage(40, LogLevel.Warning, "Settling {Count} reservation(s) (batch {BatchId}) failed ({Status}); retrying in {Delay}", EventName = "SettleFailed")]
    public static partial void SettleFailed(ILogger logger, int count, string batchId, Grpc.Core.StatusCode status, TimeSpan delay);

    [LoggerMessage(41, LogLevel.Debug, "Settled {Count} call(s) (batch {BatchId}): {Settled} reservation(s) adjusted, applied now: {Applied}", EventName = "SettlementsShipped")]
    public static partial void SettlementsShipped(ILogger logger, int count, string batchId, int settled, bool applied);

    [LoggerMessage(42, LogLevel.Error, "Gave up settling {Count} call(s) (batch {BatchId}, {Status}); their reservations stay counted at the estimate until the window or budget period passes", EventName = "SettlementsAbandoned")]
    public static partial void SettlementsAbandoned(ILogger logger, int count, string batchId, Grpc.Core.StatusCode status);

    [LoggerMessage(43, LogLevel.Error, "The settlement queue is full (policy unreachable?); dropping settlements from request {RequestId} on: their reservations stay counted at the estimate", EventName = "SettlementsDropping")]
    public static partial void SettlementsDropping(ILogger logger, string requestId);

    [LoggerMessage(44, LogLevel.Error, "{Count} settlement(s) were dropped while the settlement queue was full", EventName = "SettlementsDropped")]
    public static partial void SettlementsDropped(ILogger logger, long count);

    [LoggerMessage(45, LogLevel.Error, "Shutdown deadline reached with {Count} settlement(s) not acknowledged by policy; their reservations stay counted at the estimate", EventName = "SettlementsLostAtShutdown")]
    public static partial void SettlementsLostAtShutdown(ILogger logger, int count);

    [LoggerMessage(50, LogLevel.Warning, "Response cache: Redis is unavailable; lookups are misses and answers are kept in memory only until it is back", EventName = "ResponseCacheRedisUnavailable")]
    public static partial void ResponseCacheRedisUnavailable(ILogger logger, Exception? exception);

    [LoggerMessage(51, LogLevel.Information, "Response cache: Redis is reachable again", EventName = "ResponseCacheRedisRecovered")]
    public static partial void ResponseCacheRedisRecovered(ILogger logger);

    [LoggerMessage(55, LogLevel.Warning, "Live event feed: Redis cannot be reached ({Reason}); a client was answered 503", EventName = "EventFeedRedisUnavailable")]
    public static partial void EventFeedRedisUnavailable(ILogger logger, string reason);
}
