using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Gateway.Aspire.ServiceDefaults.Batching;
using Gateway.Aspire.ServiceDefaults.Data;

namespace Gateway.Aspire.ServiceDefaults.Events;

/// <summary>
/// Publishes gateway events without ever slowing or failing the request that raises them:
/// <see cref="Publish"/> only puts the event on a bounded in-process queue (full: the event is
/// dropped and counted); the shared <see cref="BatchShipper{T}"/> loop collects what is queued
/// (up to <see cref="GatewayEventOptions.BatchSize"/>, lingering <see cref="GatewayEventOptions.BatchDelay"/>
/// for more), serialises the batch into one reused buffer and sends it to Redis in <b>one script
/// call</b>: for each event <c>XADD gateway.events MAXLEN ~ 100000 * event &lt;json&gt;</c> when the
/// server has streams (found out once, from the first batch: Garnet may not) and
/// <c>PUBLISH gateway.events &lt;json&gt;</c> always. Without a Redis connection, events reach only this
/// process's <see cref="LocalDelivery"/> listeners.
/// </summary>
/// <remarks>
/// One writer, batches in queue order, a script runs atomically: subscribers and the stream see a
/// request's events in the order they were raised. Delivery is at most once by design — the feed is
/// for dashboards; the ledger is the record: a batch that fails is dropped and counted, never
/// retried, and what is still queued when the host's shutdown timeout runs out is counted as dropped.
/// One script call per batch instead of two commands per event: the router allocated ≈ 9 % of its
/// bytes per request on the commands, tasks and JSON arrays of its 2–3 events per request
/// (docs/perf/README.md, "Gateway events in batches").
/// </remarks>
public sealed class GatewayEventPublisher : BatchShipper<GatewayEvent>
{
    /// <summary>The meter of the publisher's own counters.</summary>
    public const string MeterName = GatewayTelemetry.MeterPrefix + "Events";

    // KEYS[1] the stream; ARGV[1] the channel, ARGV[2] '1' to append to the stream, ARGV[3] its
    // approximate cap, ARGV[4..] the events. Returns '' or the first XADD error (then the rest of the
    // batch goes to the channel only): pcall, so a server without streams still publishes.
    private const string Script = """
        local add = ARGV[2] == '1'
        local refused = ''
        for i = 4, #ARGV do
          if add then
            local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'event', ARGV[i])
            if type(added) == 'table' and added.err then
              add = false
              refused = added.err
            end
          end
          redis.call('PUBLISH', ARGV[1], ARGV[i])
        end
        return refused
        """;

    private const int FixedArguments = 3;
    private static readonly RedisKey[] s_keys = [GatewayEventChannel.Stream];
    private static readonly RedisValue s_cap = GatewayEventChannel.StreamMaxLength;
    private static readonly JsonEncodedText s_type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText s_id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText s_time = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText s_requestId = JsonEncodedText.Encode("request_id");
    private static readonly JsonEncodedText s_model = JsonEncodedText.Encode("model");

    private readonly EventQueue _queue;
    private readonly IConnectionMultiplexer? _redis;
    private readonly RedisValue _channelName;
    private readonly GatewayEventOptions _options;
    private readonly ILogger<GatewayEventPublisher> _logger;
    private readonly Counter<long> _publishedCounter;
    private readonly Counter<long> _droppedCounter;
    private readonly List<int> _ends;
    private ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private Utf8JsonWriter _writer;
    private long _dropped;
    private long _published;
    private bool? _streams;
    private bool _failing;

    /// <summary>Creates the publisher; it uses the registered <see cref="IConnectionMultiplexer"/> when there is one.</summary>
    public GatewayEventPublisher(IServiceProvider services, IOptions<GatewayEventOptions> options, IMeterFactory meters, ILogger<GatewayEventPublisher> logger, TimeProvider? time = null)
        : this(new EventQueue(options.Value.Capacity), services, options.Value, meters, logger, time ?? TimeProvider.System)
    {
    }

    private GatewayEventPublisher(EventQueue queue, IServiceProvider services, GatewayEventOptions options, IMeterFactory meters, ILogger<GatewayEventPublisher> logger, TimeProvider time)
        : base(queue, options.BatchSize, options.BatchDelay, time)
    {
        _queue = queue;
        _options = options;
        _logger = logger;
        _redis = services.GetService<IConnectionMultiplexer>();
        _channelName = _redis is null ? RedisValue.Null : (RedisValue)RedisChannels.Name(GatewayEventChannel.Channel, _redis.GetDatabase().Database);
        _ends = new List<int>(options.BatchSize);
        _writer = new Utf8JsonWriter(_buffer);
        var meter = meters.Create(MeterName);
        _publishedCounter = meter.CreateCounter<long>("gateway.events.published", description: "Gateway events written (to Redis or local listeners).");
        _droppedCounter = meter.CreateCounter<long>("gateway.events.dropped", description: "Gateway events dropped: queue full, Redis unavailable, or still queued at the shutdown deadline.");
    }

    /// <summary>Listeners in this process; called on the publisher's task with each event's JSON, only when there is no Redis.</summary>
    public event Action<ReadOnlyMemory<byte>>? LocalDelivery;

    /// <summary>Whether the events go through Redis (else to <see cref="LocalDelivery"/> only).</summary>
    public bool UsesRedis => _redis is not null;

    /// <summary>Whether the Redis server took <c>XADD</c>; null until the first write tells.</summary>
    public bool? StreamsSupported => _streams;

    /// <summary>Events dropped since start (queue full, Redis unavailable, or unsent at the shutdown deadline).</summary>
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

        if (_queue.TryAdd(gatewayEvent))
        {
            return true;
        }

        Drop(1);
        return false;
    }

    /// <inheritdoc />
    protected override async Task SendAsync(IReadOnlyList<GatewayEvent> batch)
    {
        try
        {
            Serialize(batch);
            if (_redis is null)
            {
                // Listeners may keep what they are given (the feed queues it), so each gets its own copy.
                var start = 0;
                foreach (var end in _ends)
                {
                    LocalDelivery?.Invoke(_buffer.WrittenSpan[start..end].ToArray());
                    start = end;
                }

                Written(batch.Count);
                return;
            }

            await SendToRedisAsync(batch.Count);
        }
        catch (OperationCanceledException) when (ShutdownDeadline.IsCancellationRequested)
        {
            throw; // the loop counts the batch and the rest of the queue as lost
        }
        catch (Exception e)
        {
            // Anything unforeseen (an event that cannot be written, a disposed connection) costs this
            // batch, never the loop: a dead loop would silently end the feed for the process' life.
            Drop(batch.Count);
            GatewayEventsLog.EventsLost(_logger, batch.Count, e);
            RenewBuffer();
        }
    }

    /// <inheritdoc />
    protected override void LostAtShutdown(int count)
    {
        Drop(count);
        GatewayEventsLog.LostAtShutdown(_logger, count);
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

    // The whole batch into one buffer, kept between batches: _ends[i] is where event i's JSON ends.
    private void Serialize(IReadOnlyList<GatewayEvent> batch)
    {
        _buffer.ResetWrittenCount();
        _ends.Clear();
        foreach (var gatewayEvent in batch)
        {
            _writer.Reset();
            Write(_writer, gatewayEvent);
            _writer.Flush();
            _ends.Add(_buffer.WrittenCount);
        }
    }

    private async Task SendToRedisAsync(int count)
    {
        // The arguments point into _buffer (no copy per event); it is reused only after Redis answered.
        var args = new RedisValue[FixedArguments + count];
        args[0] = _channelName;
        args[1] = _streams == false ? "0" : "1";
        args[2] = s_cap;
        var written = _buffer.WrittenMemory;
        var start = 0;
        for (var i = 0; i < count; i++)
        {
            args[FixedArguments + i] = written[start.._ends[i]];
            start = _ends[i];
        }

        string refused;
        try
        {
            refused = (string?)await _redis!.GetDatabase().ScriptEvaluateAsync(Script, s_keys, args).WaitAsync(ShutdownDeadline) ?? "";
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Drop(count);
            if (!_failing)
            {
                _failing = true;
                GatewayEventsLog.EventsLost(_logger, count, e);
            }

            // A timed-out command may still be queued in the multiplexer, pointing into the buffer.
            RenewBuffer();
            return;
        }

        if (_failing)
        {
            _failing = false;
            GatewayEventsLog.EventsRecovered(_logger);
        }

        Written(count);
        if (_streams is null)
        {
            // The first batch tells whether the server has streams; later refusals (a full server)
            // cost only those events' stream copies, which the channel carried anyway.
            _streams = refused.Length == 0;
            if (!_streams.Value)
            {
                GatewayEventsLog.StreamsUnsupported(_logger, refused);
            }
        }
    }

    private void RenewBuffer()
    {
        _buffer = new ArrayBufferWriter<byte>(16 * 1024);
        _writer = new Utf8JsonWriter(_buffer);
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

    /// <summary>The queue: full means the event is dropped, never that the request waits.</summary>
    private sealed class EventQueue(int capacity) : BatchQueue<GatewayEvent>(capacity)
    {
        public bool TryAdd(GatewayEvent gatewayEvent) => Channel.Writer.TryWrite(gatewayEvent);
    }
}
