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
}
