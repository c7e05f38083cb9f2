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
/// <para>
/// While Redis cannot be reached a client is refused (<see cref="TryJoinAsync"/> answers null; the
/// endpoint says 503) rather than told "connected" and left with a feed that receives nothing, and
/// it never waits longer than <see cref="SubscribeTimeout"/>. The subscription is one task shared by
/// every client: a failed one is dropped, so the next client once Redis is back subscribes afresh, and
/// one that completes after its waiter gave up still serves the clients after it. A taken
/// subscription outlives an outage: StackExchange.Redis subscribes again on reconnect, and clients
/// connected through it keep their stream (its heartbeats go on) and miss only what was published
/// meanwhile.
/// </para>
/// </remarks>
internal sealed class EventFeed(GatewayEventPublisher publisher, IServiceProvider services)
{
    /// <summary>Events held for one slow client before its oldest are dropped.</summary>
    public const int ClientQueueCapacity = 1000;

    /// <summary>
    /// Longest wait for Redis to confirm the subscription before the client is refused: a subscribe
    /// that races a connection loss otherwise waits for the client library's own timeout.
    /// </summary>
    public static readonly TimeSpan SubscribeTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private Channel<ReadOnlyMemory<byte>>[] _clients = [];
    private Task? _subscription;
    private int _localDelivery;

    /// <summary>
    /// A new client's queue, once the feed receives events (dispose the lease to leave); null when the
    /// feed's Redis cannot be reached now.
    /// </summary>
    public async Task<Lease?> TryJoinAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<IConnectionMultiplexer>() is { } redis)
        {
            if (!await SubscribedAsync(redis, cancellationToken))
            {
                return null;
            }
        }
        else if (Interlocked.Exchange(ref _localDelivery, 1) == 0)
        {
            publisher.LocalDelivery += Deliver;
        }

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

    /// <summary>Whether the feed's subscription is live: taken now if need be, within <see cref="SubscribeTimeout"/>.</summary>
    private async Task<bool> SubscribedAsync(IConnectionMultiplexer redis, CancellationToken cancellationToken)
    {
        var logger = services.GetService<ILogger<EventFeed>>() ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var subscriber = redis.GetSubscriber();
        var channel = RedisChannels.For(redis, GatewayEventChannel.Channel);
        if (!subscriber.IsConnected(channel))
        {
            // Subscribing now would only queue the command until Redis answers or the client library gives up.
            RouterLog.EventFeedRedisUnavailable(logger, "not connected");
            return false;
        }

        Task subscription;
        lock (_lock)
        {
            if (_subscription is null || _subscription.IsFaulted || _subscription.IsCanceled)
            {
                _subscription = SubscribeAsync(subscriber, channel);
            }

            subscription = _subscription;
        }

        try
        {
            await subscription.WaitAsync(SubscribeTimeout, services.GetService<TimeProvider>() ?? TimeProvider.System, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            RouterLog.EventFeedRedisUnavailable(logger, e.Message);
            return false;
        }
    }

    private async Task SubscribeAsync(ISubscriber subscriber, RedisChannel channel)
    {
        try
        {
            // Sequential delivery keeps each publisher's order (a concurrent handler could reorder a request's events).
            var messages = await subscriber.SubscribeAsync(channel);
            messages.OnMessage(message => Deliver((byte[])message.Message!));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The library registered the queue before the server refused; left there it would be
            // resubscribed on reconnect and fill without a reader. This feed is the channel's only
            // subscriber in the process, so dropping the channel's registration drops just that queue.
            await subscriber.UnsubscribeAsync(channel, flags: CommandFlags.FireAndForget);
            throw;
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
