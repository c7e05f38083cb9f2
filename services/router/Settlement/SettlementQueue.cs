using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.ServiceDefaults.Batching;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Settlement;

/// <summary>
/// The bounded in-process queue of settlements (each call's token and budget reservations moved to
/// what it actually used and cost), sent to policy in batches by <see cref="SettlementShipper"/>:
/// settling costs a request no policy round trip of its own.
/// </summary>
/// <remarks>
/// Full means drop, not wait (unlike the usage queue): it only fills when policy has been unreachable
/// for a while (<see cref="RouterOptions.SettleQueueCapacity"/> settlements), and a dropped settlement
/// errs on the safe side: the reservation (prompt estimate + max_tokens, the call's maximum cost)
/// stays counted until its rate-limit window passes, and its budget counter until the period ends or
/// a spend rebuild (<c>POST /admin/v1/spend/rebuild</c>) recounts it from the ledger, which still has
/// the call's actual usage. Waiting instead would hold every finished request's memory for the length
/// of the outage. Drops are counted and reported by the shipper.
/// </remarks>
internal sealed class SettlementQueue(IOptions<RouterOptions> options, ILogger<SettlementQueue> logger)
    : BatchQueue<SettleRequest>(options.Value.SettleQueueCapacity)
{
    private long _dropped;

    /// <summary>Queues a settlement; when the queue is full (or closed) drops it and counts the drop.</summary>
    public void Enqueue(SettleRequest settle)
    {
        if (Channel.Writer.TryWrite(settle))
        {
            return;
        }

        // Said once per run of drops: the shipper reports the count when policy answers again.
        if (Interlocked.Increment(ref _dropped) == 1)
        {
            RouterLog.SettlementsDropping(logger, settle.RequestId);
        }
    }

    /// <summary>Settlements dropped since the last call, reset to zero.</summary>
    public long TakeDropped() => Interlocked.Exchange(ref _dropped, 0);
}
