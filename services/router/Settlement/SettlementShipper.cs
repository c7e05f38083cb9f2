using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.ServiceDefaults.Batching;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Settlement;

/// <summary>
/// Sends queued settlements to policy's <c>Admission.SettleBatch</c>: up to
/// <see cref="RouterOptions.SettleBatchSize"/> at a time, or what arrived within
/// <see cref="RouterOptions.SettleBatchDelay"/>; one gRPC call and one Redis round trip per batch
/// instead of one Settle per request. Drains the queue on a graceful stop (<see cref="BatchShipper{T}"/>).
/// </summary>
/// <remarks>
/// Exactly once: each batch gets an id when it is first sent and is resent unchanged (same id, same
/// items) after a failure; policy applies a batch id at most once, atomically, so a retry after a lost
/// reply settles nothing twice. Retries back off to 5 s and stop after <see cref="RouterOptions.SettleRetryLimit"/>
/// (well inside the hour policy remembers batch ids): the batch is then dropped, on the safe side
/// (see <see cref="SettlementQueue"/>). INVALID_ARGUMENT is not retried.
/// </remarks>
internal sealed class SettlementShipper(
    SettlementQueue queue,
    Admission.AdmissionClient admission,
    IOptions<RouterOptions> options,
    TimeProvider time,
    ILogger<SettlementShipper> logger)
    : BatchShipper<SettleRequest>(queue, options.Value.SettleBatchSize, options.Value.SettleBatchDelay, time)
{
    /// <inheritdoc />
    protected override async Task SendAsync(IReadOnlyList<SettleRequest> batch)
    {
        var settings = options.Value;
        var request = new SettleBatchRequest { BatchId = Guid.NewGuid().ToString("N"), Settlements = { batch } };
        var giveUpAt = Time.GetUtcNow() + settings.SettleRetryLimit;
        SettleBatchReply? reply = null;
        var sent = await RetryAsync(
            async deadline => reply = await admission.SettleBatchAsync(request, deadline: DateTime.UtcNow + settings.PolicyTimeout, cancellationToken: deadline),
            (e, delay) =>
            {
                if (e.StatusCode == StatusCode.InvalidArgument || Time.GetUtcNow() + delay >= giveUpAt)
                {
                    RouterLog.SettlementsAbandoned(logger, request.Settlements.Count, request.BatchId, e.StatusCode);
                    return false;
                }

                RouterLog.SettleFailed(logger, request.Settlements.Count, request.BatchId, e.StatusCode, delay);
                return true;
            });
        if (sent && reply is not null)
        {
            RouterLog.SettlementsShipped(logger, request.Settlements.Count, request.BatchId, reply.Settled, reply.Applied);
        }

        if (queue.TakeDropped() is > 0 and var dropped)
        {
            RouterLog.SettlementsDropped(logger, dropped);
        }
    }

    /// <inheritdoc />
    protected override void LostAtShutdown(int count) => RouterLog.SettlementsLostAtShutdown(logger, count);
}
