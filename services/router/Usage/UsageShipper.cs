using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.ServiceDefaults.Batching;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Usage;

/// <summary>
/// Sends queued usage records to accounting's Ledger in batches (up to
/// <see cref="RouterOptions.UsageBatchSize"/> records, or what arrived within
/// <see cref="RouterOptions.UsageBatchDelay"/>), retrying each batch with backoff until it is
/// acknowledged, and drains the queue on a graceful stop (<see cref="BatchShipper{T}"/>).
/// Ledger.Record is idempotent on request id, so a retry after a lost acknowledgement writes
/// nothing twice.
/// </summary>
internal sealed class UsageShipper(
    UsageQueue queue,
    Ledger.LedgerClient ledger,
    IOptions<RouterOptions> options,
    TimeProvider time,
    ILogger<UsageShipper> logger)
    : BatchShipper<UsageRecord>(queue, options.Value.UsageBatchSize, options.Value.UsageBatchDelay, time)
{
    /// <inheritdoc />
    protected override Task SendAsync(IReadOnlyList<UsageRecord> batch) => SendAsync(new RecordUsageRequest { Records = { batch } });

    /// <inheritdoc />
    protected override void LostAtShutdown(int count) => RouterLog.UsageLostAtShutdown(logger, count);

    private async Task SendAsync(RecordUsageRequest batch)
    {
        RecordUsageReply? reply = null;
        RpcException? invalid = null;
        await RetryAsync(
            async deadline => reply = await ledger.RecordAsync(batch, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: deadline),
            (e, delay) =>
            {
                // Retrying cannot fix an invalid record: stop, and resend the records one by one below.
                if (e.StatusCode == StatusCode.InvalidArgument)
                {
                    invalid = e;
                    return false;
                }

                RouterLog.UsageShipFailed(logger, batch.Records.Count, e.StatusCode, delay);
                return true;
            });
        if (invalid is not null)
        {
            // One invalid record must not hold back the rest of its batch forever: give up only on the bad ones.
            await SendEachAsync(batch, invalid);
        }
        else if (reply is not null)
        {
            RouterLog.UsageShipped(logger, batch.Records.Count, reply.Written, reply.Duplicates);
        }
    }

    private async Task SendEachAsync(RecordUsageRequest batch, RpcException rejection)
    {
        if (batch.Records.Count == 1)
        {
            RouterLog.UsageRejected(logger, batch.Records[0].RequestId, rejection.Status.Detail);
            return;
        }

        foreach (var record in batch.Records)
        {
            await SendAsync(new RecordUsageRequest { Records = { record } });
        }
    }
}
