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

    [LoggerMessage(EventId = 110, EventName = "PartitionsMaintained", Level = LogLevel.Information,
        Message = "Ledger partitions: {Created} created ahead, {Dropped} dropped (keeping days from {FirstKept})")]
    public static partial void PartitionsMaintained(ILogger logger, int created, int dropped, DateOnly firstKept);

    [LoggerMessage(EventId = 111, EventName = "PartitionMaintenanceFailed", Level = LogLevel.Warning,
        Message = "Ledger partition maintenance failed; retrying at the next interval: {Error}")]
    public static partial void PartitionMaintenanceFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 120, EventName = "AnalyticsUnavailable", Level = LogLevel.Warning,
        Message = "PostgreSQL unavailable for an analytics query: {Error}")]
    public static partial void AnalyticsUnavailable(ILogger logger, string error);

    [LoggerMessage(EventId = 125, EventName = "UsageRollupFailed", Level = LogLevel.Warning,
        Message = "Usage totals not updated this interval (queued rows stay queued and are still counted): {Error}")]
    public static partial void UsageRollupFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 130, EventName = "LedgerSpooled", Level = LogLevel.Warning,
        Message = "PostgreSQL unavailable; a batch of {Count} was kept in the ledger spool for replay: {Error}")]
    public static partial void LedgerSpooled(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 131, EventName = "SpoolUnavailable", Level = LogLevel.Error,
        Message = "PostgreSQL and the ledger spool are both unavailable; a batch of {Count} was not recorded: {Error}")]
    public static partial void SpoolUnavailable(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 132, EventName = "SpoolSegmentReplayed", Level = LogLevel.Information,
        Message = "Replayed spool segment {Segment}: {Records} records, {Written} new rows")]
    public static partial void SpoolSegmentReplayed(ILogger logger, string segment, int records, int written);

    [LoggerMessage(EventId = 133, EventName = "SpoolReplayed", Level = LogLevel.Information,
        Message = "Replayed {Records} spooled records into the ledger in {Seconds:0.000} s")]
    public static partial void SpoolReplayed(ILogger logger, int records, double seconds);

    [LoggerMessage(EventId = 134, EventName = "SpoolReplayFailed", Level = LogLevel.Warning,
        Message = "Replay of spool segment {Segment} failed; it is kept and retried: {Error}")]
    public static partial void SpoolReplayFailed(ILogger logger, string segment, string error);

    [LoggerMessage(EventId = 135, EventName = "SpoolTornTail", Level = LogLevel.Warning,
        Message = "Spool segment {Segment} ends with {Bytes} bytes of an unacknowledged, partly written batch; they are skipped")]
    public static partial void SpoolTornTail(ILogger logger, string segment, long bytes);

    [LoggerMessage(EventId = 136, EventName = "SpoolRecordInvalid", Level = LogLevel.Error,
        Message = "A spooled record ({RequestId}) no longer passes validation and is skipped: {Reason}")]
    public static partial void SpoolRecordInvalid(ILogger logger, string requestId, string reason);

    [LoggerMessage(EventId = 140, EventName = "AlertDelivered", Level = LogLevel.Information,
        Message = "Alert {AlertId} ({Kind}) delivered to {Targets} target(s)")]
    public static partial void AlertDelivered(ILogger logger, string alertId, string kind, int targets);

    [LoggerMessage(EventId = 141, EventName = "AlertDeliveryFailed", Level = LogLevel.Warning,
        Message = "Alert {AlertId}: {TargetType} target {Target} failed ({Reason}); retrying: {Retry}")]
    public static partial void AlertDeliveryFailed(ILogger logger, string alertId, string targetType, string target, string reason, bool retry);

    [LoggerMessage(EventId = 142, EventName = "AlertTargetRejected", Level = LogLevel.Error,
        Message = "Alert {AlertId}: {TargetType} target skipped: {Reason}")]
    public static partial void AlertTargetRejected(ILogger logger, string alertId, string targetType, string reason);

    [LoggerMessage(EventId = 143, EventName = "AlertAbandoned", Level = LogLevel.Error,
        Message = "Alert {AlertId} ({Kind}) given up: {Pending} target(s) still failing after {Attempts} attempts")]
    public static partial void AlertAbandoned(ILogger logger, string alertId, string kind, int pending, int attempts);

    [LoggerMessage(EventId = 144, EventName = "AlertMalformed", Level = LogLevel.Warning,
        Message = "Alert queue entry {AlertId} is not an alert this version understands; dropped")]
    public static partial void AlertMalformed(ILogger logger, string alertId);

    [LoggerMessage(EventId = 145, EventName = "AlertQueueUnavailable", Level = LogLevel.Warning,
        Message = "Redis unavailable for the alert queue; retrying: {Error}")]
    public static partial void AlertQueueUnavailable(ILogger logger, string error);

    [LoggerMessage(EventId = 146, EventName = "ModelAlertRaised", Level = LogLevel.Warning,
        Message = "Alert rule {Rule}: {Kind} for {Model} at {Value:0.###}")]
    public static partial void ModelAlertRaised(ILogger logger, string rule, string kind, string model, double value);

    [LoggerMessage(EventId = 147, EventName = "AlertEvaluationFailed", Level = LogLevel.Warning,
        Message = "Alert rules not evaluated this interval: {Error}")]
    public static partial void AlertEvaluationFailed(ILogger logger, string error);
}
