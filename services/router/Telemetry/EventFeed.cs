using System.Threading.Channels;
using Gateway.Aspire.ServiceDefaults.Events;
using StackExchange.Redis;
using Gateway.Aspire.ServiceDefaults.Data;

namespace Gateway.Aspire.Router.Telemetry;

/// <summary>
/// Fans the gateway events out to this replica's live-feed clients (<c>GET /admin/v1/events</c>):
/// one subscription to the Redis channel <c>gateway.events</c> (so a client sees every replica's
/// events, and the budget events of other services), taken when the first client connects; without
/// Redis, the events this process publishes.
/// </summary>
/// <remarks>
/// Each client has a bounded queue; a client that reads too slowly loses its oldest events rather
/// than holding up the others or Redis' delivery thread.
/// </remarks>
internal sealed class EventFeed(GatewayEventPublisher publisher, IServiceProvider services)
{
    /// <summary>Events held for one slow client before its oldest are dropped.</summary>
    public const int ClientQueueCapacity = 1000;

    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _subscribe = new(1, 1);
    private Channel<ReadOnlyMemory<byte>>[] _clients = [];
    private bool _subscribed;

    /// <summary>A new client's queue, once the feed receives events; dispose the lease to leave.</summary>
    public async Task<Lease> JoinAsync()
    {
        await EnsureSubscribedAsync();
        var queue = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(ClientQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropOldest,
        });
        lock (_lock)
        {
            _clients = [.. _clients, queue];
        }

        return new Lease(this, queue);
    }

    private void Leave(Channel<ReadOnlyMemory<byte>> queue)
    {
        lock (_lock)
        {
            _clients = [.. _clients.Where(c => c != queue)];
        }
    }

    private void Deliver(ReadOnlyMemory<byte> json)
    {
        foreach (var client in Volatile.Read(ref _clients))
        {
            client.Writer.TryWrite(json);
        }
    }

    private async Task EnsureSubscribedAsync()
    {
        if (Volatile.Read(ref _subscribed))
        {
            return;
        }

        await _subscribe.WaitAsync();
        try
        {
            if (_subscribed)
            {
                return;
            }

            if (services.GetService<IConnectionMultiplexer>() is { } redis)
            {
                // Sequential delivery keeps each publisher's order (a concurrent handler could reorder a request's events).
                var messages = await redis.GetSubscriber().SubscribeAsync(RedisChannels.For(redis, GatewayEventChannel.Channel));
                messages.OnMessage(message => Deliver((byte[])message.Message!));
            }
            else
            {
                publisher.LocalDelivery += Deliver;
            }

            Volatile.Write(ref _subscribed, true);
        }
        finally
        {
            _subscribe.Release();
        }
    }

    /// <summary>One client's membership of the feed.</summary>
    internal sealed class Lease(EventFeed feed, Channel<ReadOnlyMemory<byte>> queue) : IDisposable
    {
        /// <summary>The client's events (each one JSON object), in arrival order.</summary>
        public ChannelReader<ReadOnlyMemory<byte>> Events => queue.Reader;

        /// <inheritdoc />
        public void Dispose() => feed.Leave(queue);
    }
}
