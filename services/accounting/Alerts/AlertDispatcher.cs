using System.Collections.Concurrent;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.ServiceDefaults.Background;
using Gateway.Aspire.ServiceDefaults.Events;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>
/// Delivers the alert queue (<see cref="AlertQueue.Stream"/>): every accounting replica reads it in
/// the consumer group <see cref="AlertQueue.Group"/>, so each alert goes to one replica, which sends
/// it to every target, retrying with exponential backoff, and acknowledges it only when done.
/// </summary>
/// <remarks>
/// At least once, and once in practice: an entry a replica left unacknowledged (it stopped
/// mid-delivery) is taken over by another after <see cref="AlertOptions.ClaimIdle"/>; a replica
/// renews its claim while it backs off, so a slow retry is never taken from it. A per-target
/// "delivered" marker keeps a taken-over or retried entry from reaching the same target twice; only a
/// stop between a target's 2xx and writing its marker can repeat that one target. Budget alerts are
/// also published on the event feed (<see cref="GatewayEventPublisher"/>, once, under the same kind of marker).
/// </remarks>
public sealed class AlertDispatcher(
    IConnectionMultiplexer redis, AlertSender sender, GatewayEventPublisher events, AlertMetrics metrics, IOptions<AlertOptions> options, TimeProvider time, ILogger<AlertDispatcher> logger)
    : BackgroundLoop(time, logger)
{
    private const int BatchSize = 50;

    // Markers outlive any retry schedule by far.
    private static readonly TimeSpan s_markerLifetime = TimeSpan.FromDays(7);

    // Unique per process and host instance: two hosts in one test process are two consumers.
    private readonly string _consumer = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..^24];
    private readonly ConcurrentDictionary<string, Task> _inFlight = new(StringComparer.Ordinal);
    private bool _groupReady;

    /// <inheritdoc />
    protected override TimeSpan Interval => options.Value.PollInterval;

    /// <inheritdoc />
    protected override async Task RunIterationAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        try
        {
            foreach (var entry in await ReadAsync(settings))
            {
                var id = entry.Id.ToString();
                if (!_inFlight.ContainsKey(id))
                {
                    _inFlight[id] = Task.Run(async () =>
                    {
                        try
                        {
                            await DeliverAsync(entry, settings, stoppingToken);
                        }
                        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                        {
                            // Left pending: taken over (by this replica too) after ClaimIdle.
                            AccountingLog.AlertQueueUnavailable(logger, e.Message);
                        }
                        finally
                        {
                            _inFlight.TryRemove(id, out _);
                        }
                    }, CancellationToken.None);
                }
            }
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            _groupReady &= e is not RedisServerException { Message: var m } || !m.Contains("NOGROUP", StringComparison.Ordinal);
            AccountingLog.AlertQueueUnavailable(logger, e.Message);
        }
    }

    /// <inheritdoc />
    protected override Task OnStoppedAsync() =>
        // Deliveries cut short stay pending: another replica (or the next start) takes them over.
        Task.WhenAll(_inFlight.Values);

    private async Task<List<StreamEntry>> ReadAsync(AlertOptions settings)
    {
        var database = redis.GetDatabase();
        if (!_groupReady)
        {
            try
            {
                await database.StreamCreateConsumerGroupAsync(AlertQueue.Stream, AlertQueue.Group, "0-0", createStream: true);
            }
            catch (RedisServerException e) when (e.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
            {
                // Another replica (or an earlier start) created it.
            }

            _groupReady = true;
        }

        // Entries a stopped replica left behind first, then new ones.
        var abandoned = await database.StreamAutoClaimAsync(
            AlertQueue.Stream, AlertQueue.Group, _consumer, (long)settings.ClaimIdle.TotalMilliseconds, "0-0", BatchSize);
        var entries = abandoned.ClaimedEntries.Where(e => !e.IsNull).ToList();
        entries.AddRange(await database.StreamReadGroupAsync(AlertQueue.Stream, AlertQueue.Group, _consumer, StreamPosition.NewMessages, BatchSize));
        return entries;
    }

    private async Task DeliverAsync(StreamEntry entry, AlertOptions settings, CancellationToken stoppingToken)
    {
        var database = redis.GetDatabase();
        var id = entry.Id.ToString();
        if (AlertEntry.From(entry) is not { } alert)
        {
            AccountingLog.AlertMalformed(logger, id);
            await database.StreamAcknowledgeAsync(AlertQueue.Stream, AlertQueue.Group, entry.Id);
            return;
        }

        try
        {
            var pending = Enumerable.Range(0, alert.Targets.Count).ToList();
            for (var attempt = 1; ; attempt++)
            {
                if (alert.Kind is AlertQueue.BudgetWarning or AlertQueue.BudgetExceeded)
                {
                    await PublishOnceAsync(database, id, alert);
                }

                foreach (var index in pending.ToArray())
                {
                    var marker = $"{AlertQueue.DeliveredKeyPrefix}{id}:{index}";
                    // Done before (by this replica or the one that stopped); the marker keeps its outcome.
                    if (await database.KeyExistsAsync(marker))
                    {
                        pending.Remove(index);
                        continue;
                    }

                    var result = await sender.SendAsync(alert, alert.Targets[index], stoppingToken);
                    metrics.Attempted(alert.Targets[index].Type, result);
                    if (result != DeliveryResult.Retry)
                    {
                        await database.StringSetAsync(marker, (int)result, s_markerLifetime);
                        pending.Remove(index);
                    }
                }

                if (pending.Count == 0 || attempt >= settings.MaxAttempts)
                {
                    if (pending.Count > 0)
                    {
                        AccountingLog.AlertAbandoned(logger, id, alert.Kind, pending.Count, attempt);
                        foreach (var index in pending)
                        {
                            metrics.Abandoned(alert.Targets[index].Type);
                        }
                    }
                    else
                    {
                        AccountingLog.AlertDelivered(logger, id, alert.Kind, alert.Targets.Count);
                    }

                    await database.StreamAcknowledgeAsync(AlertQueue.Stream, AlertQueue.Group, entry.Id);
                    return;
                }

                var delay = TimeSpan.FromTicks(Math.Min(settings.MaxRetryDelay.Ticks, settings.RetryDelay.Ticks << Math.Min(attempt - 1, 20)));
                await Task.Delay(delay, Time, stoppingToken);

                // Still ours? Renewing the claim resets its idle time; empty means it was acknowledged elsewhere.
                if ((await database.StreamClaimIdsOnlyAsync(AlertQueue.Stream, AlertQueue.Group, _consumer, 0, [entry.Id])).Length == 0)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the entry stays pending for the next replica.
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            AccountingLog.AlertQueueUnavailable(logger, e.Message);
        }
    }

    // The feed is at most once (GatewayEventPublisher queues, a background task writes): the marker
    // records that the event was handed over, so a retried or taken-over entry does not repeat it.
    // Only the targets need the queue's at-least-once; a dashboard can miss an event a crash took.
    private async Task PublishOnceAsync(IDatabase database, string id, AlertEntry alert)
    {
        var marker = $"{AlertQueue.DeliveredKeyPrefix}{id}:event";
        if (!await database.KeyExistsAsync(marker) && events.Publish(new AlertEvent(alert)))
        {
            await database.StringSetAsync(marker, 1, s_markerLifetime);
        }
    }
}
