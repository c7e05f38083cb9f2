using System.Globalization;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.ServiceDefaults.Background;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>
/// Evaluates the <c>gateway-alerts-config</c> rules from the ledger every
/// <see cref="AlertOptions.EvaluationInterval"/>: per served model over each rule's trailing window,
/// the error rate (status ≥ 500) and the p95 latency (time to first token for streams, total time
/// otherwise; cache hits left out). A breach queues one alert; the rule is re-armed for that model
/// once it recovers (enough calls and back under the threshold) or the model has no calls in the window.
/// </summary>
/// <remarks>
/// The rules are the live configuration's (<see cref="LiveConfig{T}"/>), read once per evaluation, so
/// an applied <c>gateway-alerts-config</c> takes effect at the next interval without a restart. A
/// removed rule's firing state stays in Redis, unread; a rule re-added under the same id keeps it.
/// The ledger, not this replica's own traffic, so every replica sees all calls; a Redis lock lets one
/// replica evaluate per interval, and the firing state is a Redis hash per rule and metric
/// (<c>HSETNX</c> and the queue append in one script), so a breach alerts once however many replicas run.
/// </remarks>
public sealed class ModelAlertEvaluator(
    LiveConfig<IReadOnlyList<ModelAlertRule>> rules, NpgsqlDataSource dataSource, IConnectionMultiplexer redis, IOptions<AlertOptions> options,
    TimeProvider time, ILogger<ModelAlertEvaluator> logger) : BackgroundLoop(time, logger)
{
    /// <summary>Prefix of the firing-state hashes: <c>&lt;prefix&gt;&lt;rule&gt;:&lt;metric&gt;</c>, field = model.</summary>
    public const string StatePrefix = "accounting:alert-state:";

    private const string LockKey = "accounting:alert-evaluator-lock";

    private const string FireScript = """
        if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
          return 0
        end
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
        return 1
        """;

    private const string WindowSql = """
        SELECT served_model, count(*),
            count(*) FILTER (WHERE status_code >= 500),
            percentile_cont(0.95) WITHIN GROUP (ORDER BY CASE WHEN streamed AND ttft_ms IS NOT NULL THEN ttft_ms ELSE latency_ms END)
        FROM accounting.ledger
        WHERE started_at > $1 AND started_at <= $2 AND NOT cache_hit
        GROUP BY served_model
        """;

    /// <summary>Evaluates every rule at <paramref name="now"/>; returns how many alerts it queued.</summary>
    public async Task<int> EvaluateAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var queued = 0;
        var database = redis.GetDatabase();
        foreach (var window in rules.Current.GroupBy(r => r.WindowMinutes))
        {
            var stats = await ReadWindowAsync(now, TimeSpan.FromMinutes(window.Key), cancellationToken);
            foreach (var rule in window)
            {
                if (rule.ErrorRateAbovePercent is { } maxErrors)
                {
                    queued += await ApplyAsync(database, rule, AlertQueue.ErrorRate, now, stats,
                        s => s.Requests == 0 ? 0 : 100.0 * s.Errors / s.Requests, (double)maxErrors);
                }

                if (rule.P95LatencyAboveMs is { } maxLatency)
                {
                    queued += await ApplyAsync(database, rule, AlertQueue.Latency, now, stats, s => s.P95LatencyMs, maxLatency);
                }
            }
        }

        return queued;
    }

    /// <inheritdoc />
    protected override TimeSpan Interval => options.Value.EvaluationInterval;

    /// <inheritdoc />
    protected override TimeSpan FirstDelay => Interval;

    /// <inheritdoc />
    protected override async Task RunIterationAsync(CancellationToken stoppingToken)
    {
        if (rules.Current.Count == 0)
        {
            return;
        }

        try
        {
            // One replica per interval (the lock lapses just before the next tick).
            if (await redis.GetDatabase().StringSetAsync(LockKey, Environment.ProcessId, Interval * 0.9, When.NotExists))
            {
                await EvaluateAsync(Time.GetUtcNow(), stoppingToken);
            }
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException or NpgsqlException)
        {
            AccountingLog.AlertEvaluationFailed(logger, e.Message);
        }
    }

    private async Task<int> ApplyAsync(
        IDatabase database, ModelAlertRule rule, string kind, DateTimeOffset now, IReadOnlyDictionary<string, WindowStats> stats, Func<WindowStats, double> measure, double threshold)
    {
        var state = (RedisKey)$"{StatePrefix}{rule.Id}:{kind}";
        var queued = 0;
        foreach (var (model, window) in stats.Where(s => rule.Watches(s.Key)))
        {
            if (window.Requests < rule.MinRequests)
            {
                continue;
            }

            var value = measure(window);
            if (value <= threshold)
            {
                await database.HashDeleteAsync(state, model);
                continue;
            }

            RedisValue[] args =
            [
                model, now.ToUnixTimeMilliseconds(), AlertQueue.MaxLength,
                AlertQueue.Kind, kind, AlertQueue.Rule, rule.Id, AlertQueue.Scope, $"model={model}",
                AlertQueue.Threshold, threshold.ToString("0.###", CultureInfo.InvariantCulture),
                AlertQueue.Value, value.ToString("0.###", CultureInfo.InvariantCulture),
                AlertQueue.Window, rule.WindowMinutes * 60, AlertQueue.Requests, window.Requests,
                AlertQueue.Time, now.ToUnixTimeMilliseconds(), AlertQueue.Targets, rule.TargetsJson,
            ];
            if ((long)await database.ScriptEvaluateAsync(FireScript, [state, AlertQueue.Stream], args) == 1)
            {
                AccountingLog.ModelAlertRaised(logger, rule.Id, kind, model, value);
                queued++;
            }
        }

        // Models gone quiet recover too: no calls, no failures.
        foreach (var firing in await database.HashKeysAsync(state))
        {
            if (!stats.ContainsKey(firing.ToString()))
            {
                await database.HashDeleteAsync(state, firing);
            }
        }

        return queued;
    }

    private async Task<Dictionary<string, WindowStats>> ReadWindowAsync(DateTimeOffset now, TimeSpan window, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(WindowSql);
        command.Parameters.Add(new NpgsqlParameter { Value = now - window });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var stats = new Dictionary<string, WindowStats>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            stats[reader.GetString(0)] = new WindowStats(reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? 0 : reader.GetDouble(3));
        }

        return stats;
    }

    private sealed record WindowStats(long Requests, long Errors, double P95LatencyMs);
}
