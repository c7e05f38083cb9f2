namespace Gateway.Aspire.Accounting;

/// <summary>Source-generated log messages of the accounting service. Never logs prompts or keys.</summary>
internal static partial class AccountingLog
{
    [LoggerMessage(EventId = 100, EventName = "BatchRecorded", Level = LogLevel.Debug,
        Message = "Recorded a batch of {Count}: {Written} written, {Duplicates} duplicates")]
    public static partial void BatchRecorded(ILogger logger, int count, int written, int duplicates);

    [LoggerMessage(EventId = 101, EventName = "BatchRejected", Level = LogLevel.Warning,
        Message = "Rejected a batch of {Count}: {Reason}")]
    public static partial void BatchRejected(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 102, EventName = "PostgresUnavailable", Level = LogLevel.Error,
        Message = "PostgreSQL unavailable; a batch of {Count} was not recorded: {Error}")]
    public static partial void PostgresUnavailable(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 110, EventName = "PartitionsMaintained", Level = LogLevel.Information,
        Message = "Ledger partitions: {Created} created ahead, {Dropped} dropped (keeping days from {FirstKept})")]
    public static partial void PartitionsMaintained(ILogger logger, int created, int dropped, DateOnly firstKept);

    [LoggerMessage(EventId = 111, EventName = "PartitionMaintenanceFailed", Level = LogLevel.Warning,
        Message = "Ledger partition maintenance failed; retrying at the next interval: {Error}")]
    public static partial void PartitionMaintenanceFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 120, EventName = "AnalyticsUnavailable", Level = LogLevel.Warning,
        Message = "PostgreSQL unavailable for an analytics query: {Error}")]
    public static partial void AnalyticsUnavailable(ILogger logger, string error);

    [LoggerMessage(EventId = 130, EventName = "AlertDelivered", Level = LogLevel.Information,
        Message = "Alert {AlertId} ({Kind}) delivered to {Targets} target(s)")]
    public static partial void AlertDelivered(ILogger logger, string alertId, string kind, int targets);

    [LoggerMessage(EventId = 131, EventName = "AlertDeliveryFailed", Level = LogLevel.Warning,
        Message = "Alert {AlertId}: {TargetType} target {Target} failed ({Reason}); retrying: {Retry}")]
    public static partial void AlertDeliveryFailed(ILogger logger, string alertId, string targetType, string target, string reason, bool retry);

    [LoggerMessage(EventId = 132, EventName = "AlertTargetRejected", Level = LogLevel.Error,
        Message = "Alert {AlertId}: {TargetType} target skipped: {Reason}")]
    public static partial void AlertTargetRejected(ILogger logger, string alertId, string targetType, string reason);

    [LoggerMessage(EventId = 133, EventName = "AlertAbandoned", Level = LogLevel.Error,
        Message = "Alert {AlertId} ({Kind}) given up: {Pending} target(s) still failing after {Attempts} attempts")]
    public static partial void AlertAbandoned(ILogger logger, string alertId, string kind, int pending, int attempts);

    [LoggerMessage(EventId = 134, EventName = "AlertMalformed", Level = LogLevel.Warning,
        Message = "Alert queue entry {AlertId} is not an alert this version understands; dropped")]
    public static partial void AlertMalformed(ILogger logger, string alertId);

    [LoggerMessage(EventId = 135, EventName = "AlertQueueUnavailable", Level = LogLevel.Warning,
        Message = "Redis unavailable for the alert queue; retrying: {Error}")]
    public static partial void AlertQueueUnavailable(ILogger logger, string error);

    [LoggerMessage(EventId = 136, EventName = "ModelAlertRaised", Level = LogLevel.Warning,
        Message = "Alert rule {Rule}: {Kind} for {Model} at {Value:0.###}")]
    public static partial void ModelAlertRaised(ILogger logger, string rule, string kind, string model, double value);

    [LoggerMessage(EventId = 137, EventName = "AlertEvaluationFailed", Level = LogLevel.Warning,
        Message = "Alert rules not evaluated this interval: {Error}")]
    public static partial void AlertEvaluationFailed(ILogger logger, string error);
}
