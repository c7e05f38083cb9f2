using Gateway.Aspire.Accounting.Grpc;
using Grpc.Core;
using Npgsql;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>
/// Records usage batches from the router. Acknowledges only after the batch is committed; a batch
/// with any invalid record is refused whole (InvalidArgument naming the record), and an unreachable
/// PostgreSQL is reported as Unavailable so the router keeps the batch and retries.
/// </summary>
public sealed class LedgerService(LedgerWriter writer, TimeProvider time, ILogger<LedgerService> logger)
    : Grpc.Ledger.LedgerBase
{
    /// <summary>Most records in one batch.</summary>
    public const int MaxBatchSize = 10_000;

    /// <inheritdoc />
    public override async Task<RecordUsageReply> Record(RecordUsageRequest request, ServerCallContext context)
    {
        var records = request.Records;
        if (records.Count > MaxBatchSize)
        {
            throw Reject(records.Count, $"a batch may hold at most {MaxBatchSize} records; got {records.Count}");
        }

        var entries = new LedgerEntry[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            entries[i] = LedgerEntry.From(records[i], out var error)
                ?? throw Reject(records.Count, $"record {i} (request_id '{Shorten(records[i].RequestId)}'): {error}");
        }

        int written;
        try
        {
            written = await writer.WriteAsync(entries, time.GetUtcNow(), context.CancellationToken);
        }
        catch (NpgsqlException e) when (e is not PostgresException || e.IsTransient)
        {
            AccountingLog.PostgresUnavailable(logger, records.Count, e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The ledger database is unavailable; retry the batch later."));
        }

        var reply = new RecordUsageReply { Written = written, Duplicates = entries.Length - written };
        AccountingLog.BatchRecorded(logger, entries.Length, reply.Written, reply.Duplicates);
        return reply;
    }

    private RpcException Reject(int count, string reason)
    {
        AccountingLog.BatchRejected(logger, count, reason);
        return new RpcException(new Status(StatusCode.InvalidArgument, reason));
    }

    private static string Shorten(string value) => value.Length <= LedgerEntry.MaxRequestIdLength ? value : value[..40] + "…";
}
