using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Gateway.Aspire.ServiceDefaults.Data;

namespace Gateway.Aspire.ServiceDefaults.Configuration;

/// <summary>Settings of <see cref="LiveConfigSubscriber{T}"/>, bound from the <c>LiveConfig</c> section.</summary>
public sealed record LiveConfigOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "LiveConfig";

    /// <summary>
    /// How often the stored version is checked even without an announcement: the bound on how long
    /// a replica that missed a message (pub/sub is at-most-once) stays stale. Default: 5 seconds.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Keeps one service's <see cref="LiveConfig{T}"/> equal to the effective configuration in Redis
/// (<see cref="LiveConfigChannel"/>): at start the stored configuration, when there is one, replaces
/// the file's; then every announcement on <see cref="LiveConfigChannel.Channel"/>, every reconnect
/// and every <see cref="LiveConfigOptions.PollInterval"/> re-reads the stored version and loads the
/// configuration when that version is newer than the one in force.
/// </summary>
/// <remarks>
/// Loads run one at a time on a single loop, so versions only move forward. A configuration the
/// service's loader rejects (or any failure while loading) is logged and the previous snapshot stays
/// in force: a bad publish must never take a replica down, and that version is not retried (a later
/// one is). Redis being away is the same: the replica keeps serving what it has and catches up on the
/// next poll or reconnect.
/// </remarks>
/// <typeparam name="T">The service's immutable configuration.</typeparam>
public sealed class LiveConfigSubscriber<T> : IHostedService, IDisposable where T : class
{
    private static readonly RedisValue[] s_fields = [LiveConfigChannel.VersionField, LiveConfigChannel.YamlField];

    private readonly LiveConfig<T> _live;
    private readonly Func<string, string, T> _load;
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly TimeProvider _time;
    private readonly LiveConfigOptions _options;
    private readonly ILogger _logger;
    // At most one pending wake-up: announcements that arrive while a load runs collapse into one re-read.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private long _rejectedVersion;
    private Task? _loop;

    /// <summary>
    /// Creates the subscriber; <paramref name="load"/> parses and validates the effective YAML (its
    /// arguments: the text, and the source name its error messages should use).
    /// </summary>
    public LiveConfigSubscriber(
        LiveConfig<T> live, Func<string, string, T> load, IConnectionMultiplexer redis, TimeProvider time,
        IOptions<LiveConfigOptions> options, ILogger<LiveConfigSubscriber<T>> logger)
    {
        _live = live;
        _load = load;
        _redis = redis;
        _channel = RedisChannels.For(redis, LiveConfigChannel.Channel);
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>
    /// The last stored version the service's loader refused (0: none): while it is newer than
    /// <see cref="LiveConfig{T}.Version"/>, this replica runs an older configuration than the one published.
    /// </summary>
    public long RejectedVersion => Volatile.Read(ref _rejectedVersion);

    /// <summary>
    /// Subscribes, loads the stored configuration (hosted services start before the web server, so a
    /// replica that starts after a publish never serves the file's), and starts the reload loop. With
    /// Redis away this waits at most the connection's timeout, then starts on the file's snapshot.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _redis.ConnectionRestored += OnConnectionRestored;
        // Subscribed before the first read: a publish in between wakes the loop instead of waiting for the poll.
        await SubscribeAsync();
        await RefreshAsync(announced: null);
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        try
        {
            await _redis.GetSubscriber().UnsubscribeAsync(_channel, OnAnnouncement);
        }
        catch (Exception e) when (e is RedisException or ObjectDisposedException)
        {
            // Going away anyway: the server drops the subscription with the connection.
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    private async Task SubscribeAsync()
    {
        try
        {
            await _redis.GetSubscriber().SubscribeAsync(_channel, OnAnnouncement);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The multiplexer re-subscribes what it knows after a reconnect; until then the poll covers.
            LiveConfigLog.SubscribeFailed(_logger, typeof(T).Name, e.Message);
        }
    }

    private void OnAnnouncement(RedisChannel channel, RedisValue message)
    {
        // The message is the new version: one already in force (a replay, a publish at start) costs nothing.
        if (long.TryParse((string?)message, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version <= _live.Version)
        {
            return;
        }

        _wake.Writer.TryWrite(true);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => _wake.Writer.TryWrite(true);

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var wake = _wake.Reader.WaitToReadAsync(stopping).AsTask();
                await Task.WhenAny(wake, Task.Delay(_options.PollInterval, _time, stopping));
                stopping.ThrowIfCancellationRequested();
                _wake.Reader.TryRead(out _);
                await RefreshAsync(announced: wake.IsCompletedSuccessfully);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // RefreshAsync handles what it expects; whatever else must not end reloads for the process' life.
                LiveConfigLog.ReadFailed(_logger, typeof(T).Name, e.Message);
            }
        }
    }

    /// <summary>Reads the stored version and, when it is newer than the one in force, loads and swaps.</summary>
    private async Task RefreshAsync(bool? announced)
    {
        var started = _time.GetTimestamp();
        try
        {
            var database = _redis.GetDatabase();
            // A poll reads the version alone first, so finding nothing new does not move the whole YAML;
            // an announcement already said a newer version exists.
            if (announced != true
                && (ParseVersion(await database.HashGetAsync(LiveConfigChannel.Key, LiveConfigChannel.VersionField)) is not { } stored
                    || stored <= _live.Version || stored == _rejectedVersion))
            {
                return;
            }

            // Both fields in one HMGET: the publisher writes them in one HSET, so they belong together.
            var fields = await database.HashGetAsync(LiveConfigChannel.Key, s_fields);
            if (ParseVersion(fields[0]) is not { } version || version <= _live.Version || version == _rejectedVersion || fields[1].IsNull)
            {
                return;
            }

            Load(version, fields[1]!, announced, started);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Redis away, timed out or anything unforeseen: the loop must survive to try again on the next poll.
            LiveConfigLog.ReadFailed(_logger, typeof(T).Name, e.Message);
        }
    }

    private void Load(long version, string yaml, bool? announced, long started)
    {
        var source = $"{LiveConfigChannel.Key} v{version.ToString(CultureInfo.InvariantCulture)}";
        T config;
        try
        {
            config = _load(yaml, source);
        }
        catch (Exception e)
        {
            Volatile.Write(ref _rejectedVersion, version);
            LiveConfigLog.Rejected(_logger, typeof(T).Name, version, _live.Version, e.Message);
            return;
        }

        var previous = _live.Version;
        _live.Replace(config, version);
        LiveConfigLog.Loaded(_logger, typeof(T).Name, version, previous, announced switch
        {
            null => "start",
            true => "announcement",
            false => "poll or reconnect",
        }, _time.GetElapsedTime(started).TotalMilliseconds);
    }

    private static long? ParseVersion(RedisValue value) =>
        value.HasValue && long.TryParse((string?)value, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version : null;
}
