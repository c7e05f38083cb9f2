using System.Threading.Channels;
using Gateway.Aspire.Accounting.Grpc;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Usage;

/// <summary>
/// The bounded in-process queue between responses and the ledger (DESIGN: accounting off the
/// response path). Full means wait, not drop: records are enqueued after the response completed,
/// so backpressure costs the client nothing while a dropped record would cost money.
/// </summary>
internal sealed class UsageQueue(IOptions<RouterOptions> options, ILogger<UsageQueue> logger)
{
    private readonly Channel<UsageRecord> _channel = Channel.CreateBounded<UsageRecord>(new BoundedChannelOptions(options.Value.UsageQueueCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    /// <summary>The shipper's end.</summary>
    public ChannelReader<UsageRecord> Reader => _channel.Reader;

    /// <summary>Adds a record, waiting for space when the queue is full.</summary>
    public async ValueTask EnqueueAsync(UsageRecord record)
    {
        if (_channel.Writer.TryWrite(record))
        {
            return;
        }

        try
        {
            await _channel.Writer.WriteAsync(record);
        }
        catch (ChannelClosedException)
        {
            RouterLog.UsageAfterClose(logger, record.RequestId);
        }
    }

    /// <summary>No more records (shutdown, after the server stopped taking requests).</summary>
    public void Complete() => _channel.Writer.TryComplete();
}
