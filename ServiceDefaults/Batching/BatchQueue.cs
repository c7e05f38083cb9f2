using System.Threading.Channels;

namespace Gateway.Aspire.ServiceDefaults.Batching;

/// <summary>
/// A bounded in-process queue between the request path and a <see cref="BatchShipper{T}"/>: many
/// writers (requests), one reader (the shipper). What happens when it is full is the derived queue's
/// choice (the usage queue waits, the settlement and event queues drop).
/// </summary>
/// <typeparam name="T">What is queued.</typeparam>
public abstract class BatchQueue<T>(int capacity)
{
    /// <summary>The channel; <see cref="BoundedChannelFullMode.Wait"/>, so a full queue makes <c>TryWrite</c> fail and <c>WriteAsync</c> wait.</summary>
    protected Channel<T> Channel { get; } = System.Threading.Channels.Channel.CreateBounded<T>(new BoundedChannelOptions(capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    /// <summary>The shipper's end.</summary>
    public ChannelReader<T> Reader => Channel.Reader;

    /// <summary>No more items (shutdown, after the server stopped taking requests).</summary>
    public void Complete() => Channel.Writer.TryComplete();
}
