using System.Threading.Channels;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.ServiceDefaults.Batching;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Usage;

/// <summary>
/// The bounded in-process queue between responses and the ledger (DESIGN: accounting off the
/// response path). Full means wait, not drop: records are enqueued after the response completed,
/// so backpressure costs the client nothing while a dropped record would cost money.
/// </summary>
internal sealed class UsageQueue(IOptions<RouterOptions> options, ILogger<UsageQueue> logger)
    : BatchQueue<UsageRecord>(options.Value.UsageQueueCapacity)
{
    /// <summary>Adds a record, waiting for space when the queue is full.</summary>
    public async ValueTask EnqueueAsync(UsageRecord record)
    {
        if (Channel.Writer.TryWrite(record))
        {
            return;
        }

        try
        {
            await Channel.Writer.WriteAsync(record);
        }
        catch (ChannelClosedException)
        {
            RouterLog.UsageAfterClose(logger, record.RequestId);
        }
    }
}
