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
}
