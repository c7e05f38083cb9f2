using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Gateway.Aspire.ServiceDefaults.Data;

namespace Gateway.Aspire.ServiceDefaults.Events;

/// <summary>
/// Publishes gateway events without ever slowing or failing the request that raises them:
/// <see cref="Publish"/> only puts the event on a bounded in-process channel (full: the event is
/// dropped and counted); a background task serialises what is queued and writes it to Redis in
/// pipelined batches — <c>XADD gateway.events MAXLEN ~ 100000</c> when the server has streams
/// (found out once, on the first write: Garnet may not) and <c>PUBLISH gateway.events</c> always.
/// Without a Redis connection, events reach only this process's <see cref="LocalDelivery"/> listeners.
/// </summary>
/// <remarks>
/// One writer, one connection, commands in queue order: subscribers and the stream see a request's
/// events in the order they were raised. Delivery is at most once by design — the feed is for
/// dashboards; the ledger is the record.
/// </remarks>
public sealed class GatewayEventPublisher : IHostedService
{
    /// <summary>The meter of the publisher's own counters.</summary>
    public const string MeterName = GatewayTelemetry.MeterPrefix + "Events";

    private static readonly JsonEncodedText s_type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText s_id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText s_time = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText s_requestId = JsonEncodedText.Encode("request_id");
    private static readonly JsonEncodedText s_model = JsonEncodedText.Encode("model");

    private readonly Channel<GatewayEvent> _queue;
    private readonly IConnectionMultiplexer? _redis;
    private readonly RedisChannel _channel;
    private readonly GatewayEventOptions _options;
    private readonly ILogger<GatewayEventPublisher> _logger;
    private readonly Counter<long> _publishedCounter;
    private readonly Counter<long> _droppedCounter;
    private long _dropped;
    private long _published;
    private bool? _streams;
    private bool _failing;
    private Task? _writer;

    /// <summary>Creates the publisher; it uses the registered <see cref="IConnectionMultiplexer"/> when there is one.</summary>
    public GatewayEventPublisher(IServiceProvider services, IOptions<GatewayEventOptions> options, IMeterFactory meters, ILogger<GatewayEventPublisher> logger)
    {
        _options = options.Value;
        _logger = logger;
        _redis = services.GetService<IConnectionMultiplexer>();
        _channel = _redis is null ? default : RedisChannels.For(_redis, GatewayEventChannel.Channel);
        // Full: TryWrite fails and Publish counts the drop; the request never waits.
        _queue = Channel.CreateBounded<GatewayEvent>(new BoundedChannelOptions(_options.Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        var meter = meters.Create(MeterName);
        _publishedCounter = meter.CreateCounter<long>("gateway.events.published", description: "Gateway events written (to Redis or local listeners).");
        _droppedCounter = meter.CreateCounter<long>("gateway.events.dropped", description: "Gateway events dropped: queue full or Redis unavailable.");
    }

    /// <summary>Listeners in this process; called on the publisher's task with each event's JSON, only when there is no Redis.</summary>
    public event Action<ReadOnlyMemory<byte>>? LocalDelivery;

    /// <summary>Whether the events go through Redis (else to <see cref="LocalDelivery"/> only).</summary>
    public bool UsesRedis => _redis is not null;

    /// <summary>Whether the Redis server took <c>XADD</c>; null until the first write tells.</summary>
    public bool? StreamsSupported => _streams;

    /// <summary>Events dropped since start (queue full or Redis unavailable).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Events written since start.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Queues <paramref name="gatewayEvent"/>; false (and counted) when the queue is full or publishing is off.</summary>
    public bool Publish(GatewayEvent gatewayEvent)
    {
        if (!_options.Enabled)
        {
            return false;
        }

        if (_queue.Writer.TryWrite(gatewayEvent))
        {
            return true;
        }

        Drop(1);
        return false;
    }

    /// <summary>Starts the background writer.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _writer = Task.Run(WriteAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops taking events and writes what is queued before the host stops (or <paramref name="cancellationToken"/> gives up).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        if (_writer is not null)
        {
            await _writer.WaitAsync(cancellationToken);
        }
    }

    // Not BackgroundService: its stopping token can cancel the loop before it ran, and what was queued would be lost.
    private async Task WriteAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<byte[]>(_options.BatchSize);
        var buffer = new ArrayBufferWriter<byte>(1024);
        await using var writer = new Utf8JsonWriter(buffer);
        // StopAsync completes the channel: the loop drains it and ends.
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            try
            {
                while (batch.Count < _options.BatchSize && reader.TryRead(out var gatewayEvent))
                {
                    buffer.ResetWrittenCount();
                    writer.Reset();
                    Write(writer, gatewayEvent);
                    writer.Flush();
                    batch.Add(buffer.WrittenSpan.ToArray());
                }

                await SendAsync(batch);
            }
            catch (Exception e)
            {
                // Anything unforeseen (an event that cannot be written, a disposed connection) costs this
                // batch, never the writer: a dead writer would silently end the feed for the process' life.
                Drop(Math.Max(batch.Count, 1));
                GatewayEventsLog.EventsLost(_logger, Math.Max(batch.Count, 1), e);
            }

            batch.Clear();
        }
    }

    /// <summary>The event as one JSON object: the common members, then the event's own.</summary>
    internal static void Write(Utf8JsonWriter writer, GatewayEvent gatewayEvent)
    {
        writer.WriteStartObject();
        writer.WriteString(s_type, gatewayEvent.Type);
        if (gatewayEvent.Id is { } id)
        {
            writer.WriteString(s_id, id);
        }
        else
        {
            writer.WriteString(s_id, Guid.CreateVersion7(gatewayEvent.Time));
        }

        writer.WriteString(s_time, gatewayEvent.Time.UtcDateTime);
        writer.WriteString(s_requestId, gatewayEvent.RequestId);
        writer.WriteString(s_model, gatewayEvent.Model);
        gatewayEvent.WriteFields(writer);
        writer.WriteEndObject();
    }

    private async Task SendAsync(List<byte[]> batch)
    {
        if (_redis is null)
        {
            foreach (var json in batch)
            {
                LocalDelivery?.Invoke(json);
            }

            Written(batch.Count);
            return;
        }

        // One pipelined round trip per batch; XADD before PUBLISH so a subscriber that reads the stream after a message finds it there.
        var db = _redis.GetDatabase();
        var pipeline = db.CreateBatch();
        var adds = _streams == false ? null : new Task<RedisValue>[batch.Count];
        var publishes = new Task<long>[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            if (adds is not null)
            {
                adds[i] = pipeline.StreamAddAsync(GatewayEventChannel.Stream, "event", batch[i], maxLength: GatewayEventChannel.StreamMaxLength, useApproximateMaxLength: true);
            }

            publishes[i] = pipeline.PublishAsync(_channel, batch[i]);
        }

        pipeline.Execute();
        try
        {
            await Task.WhenAll(publishes);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Drop(batch.Count);
            if (!_failing)
            {
                _failing = true;
                GatewayEventsLog.EventsLost(_logger, batch.Count, e);
            }

            await ObserveAsync(adds);
            return;
        }

        if (_failing)
        {
            _failing = false;
            GatewayEventsLog.EventsRecovered(_logger);
        }

        Written(batch.Count);
        if (adds is not null && _streams is null)
        {
            try
            {
                await adds[0];
                _streams = true;
            }
            catch (RedisServerException e)
            {
                // The server refused XADD itself (unknown command): stop trying; PUBLISH is enough for the live feed.
                _streams = false;
                GatewayEventsLog.StreamsUnsupported(_logger, e.Message);
            }
        }

        await ObserveAsync(adds);
    }

    // Every task is awaited so that a failed XADD never surfaces as an unobserved exception.
    private static async Task ObserveAsync(Task<RedisValue>[]? adds)
    {
        foreach (var add in adds ?? [])
        {
            try
            {
                await add;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Counted through PUBLISH's outcome; the stream is a convenience copy.
            }
        }
    }

    private void Written(int count)
    {
        Interlocked.Add(ref _published, count);
        _publishedCounter.Add(count);
    }

    private void Drop(int count)
    {
        Interlocked.Add(ref _dropped, count);
        _droppedCounter.Add(count);
    }
}
