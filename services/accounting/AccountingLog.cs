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
}
