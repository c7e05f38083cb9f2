using Gateway.Aspire.Accounting.Grpc;
using Grpc.Core;
using Npgsql;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>
/// Records usage batches from the router. Acknowledges only after a durable write: the batch is
/// committed to PostgreSQL or, while PostgreSQL is unavailable, fsynced to the
/// <see cref="LedgerSpool"/> that <see cref="LedgerReplay"/> writes back later. A batch with any
/// invalid record is refused whole (InvalidArgument naming the record); when neither PostgreSQL
/// nor the spool can take it, Unavailable, so the router keeps the batch and retries.
/// </summary>
internal sealed class LedgerService(LedgerWriter writer, LedgerSpool spool, TimeProvider time, ILogger<LedgerService> logger)
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

        var failure = "an earlier write failed and the spool is being replayed";
        if (!spool.Outage)
        {
            try
            {
                var written = await writer.WriteAsync(entries, time.GetUtcNow(), context.CancellationToken);
                var reply = new RecordUsageReply { Written = written, Duplicates = entries.Length - written };
                AccountingLog.BatchRecorded(logger, entries.Length, reply.Written, reply.Duplicates);
                return reply;
            }
            catch (Exception e) when (IsUnavailable(e) && !context.CancellationToken.IsCancellationRequested)
            {
                // Possibly committed after all (the connection broke before the answer): the replay's
                // duplicate is then dropped by the ledger's key.
                spool.Outage = true;
                failure = e.Message;
            }
        }

        try
        {
            await spool.AppendAsync(request, context.CancellationToken);
        }
        catch (IOException e)
        {
            AccountingLog.SpoolUnavailable(logger, records.Count, e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The ledger database is unavailable; retry the batch later."));
        }

        AccountingLog.LedgerSpooled(logger, records.Count, failure);
        return new RecordUsageReply { Buffered = records.Count };
    }

    // Anything that says "PostgreSQL cannot take this now" rather than "this batch is wrong":
    // connection failures, timeouts, shutdown and recovery (57P0x), too many connections.
    private static bool IsUnavailable(Exception e) =>
        e is TimeoutException || (e is NpgsqlException n && (n is not PostgresException || n.IsTransient));

    private RpcException Reject(int count, string reason)
    {
        AccountingLog.BatchRejected(logger, count, reason);
        return new RpcException(new Status(StatusCode.InvalidArgument, reason));
    }

    private static string Shorten(string value) => value.Length <= LedgerEntry.MaxRequestIdLength ? value : value[..40] + "…";
}
