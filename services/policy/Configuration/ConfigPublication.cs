using Gateway.Aspire.ServiceDefaults.Background;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Npgsql;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Configuration;

/// <summary>
/// Publishes the effective configuration at start (the file may have changed since the last
/// publication) and again whenever an apply could not reach Redis, retrying every
/// <see cref="RetryInterval"/> until it succeeds. Always publishes what PostgreSQL says now, so a
/// retry can never publish a stale version.
/// </summary>
internal sealed class ConfigPublication(
    ConfigStore store, ConfigFile file, ConfigPublisher publisher, TimeProvider time, ILogger<ConfigPublication> logger)
    : BackgroundLoop(time, logger)
{
    /// <summary>How long to wait before publishing again after a failure.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _pending = new(1, 1);

    /// <summary>Asks for a publication of the current state (after an apply whose own publication failed).</summary>
    public void RequestRetry()
    {
        if (_pending.CurrentCount == 0)
        {
            _pending.Release();
        }
    }

    /// <summary>Publishes <paramref name="documents"/> as <paramref name="version"/>; false (logged) when Redis cannot be reached.</summary>
    public async Task<bool> TryPublishAsync(long version, IReadOnlyList<ManifestDocument> documents)
    {
        var yaml = ManifestOverlay.ToYaml(documents);
        try
        {
            if (await publisher.PublishAsync(version, yaml))
            {
                PolicyLog.ConfigPublished(logger, version, yaml.Length);
            }

            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            PolicyLog.ConfigPublishFailed(logger, version, e.Message);
            return false;
        }
    }

    /// <inheritdoc />
    protected override TimeSpan Interval => TimeSpan.Zero;

    /// <inheritdoc />
    protected override async Task RunIterationAsync(CancellationToken stoppingToken)
    {
        // The semaphore starts available: the first pass is the publication at start.
        await _pending.WaitAsync(stoppingToken);
        var published = false;
        try
        {
            var state = await store.ReadAsync(stoppingToken);
            published = await TryPublishAsync(state.Version, ManifestOverlay.Build(ConfigLayers.Of(file, state)));
        }
        catch (Exception e) when (e is NpgsqlException or ManifestException && !stoppingToken.IsCancellationRequested)
        {
            // ManifestException: the file no longer parses; the service failed to start anyway unless it was fixed.
            PolicyLog.ConfigPublishFailed(logger, -1, e.Message);
        }
        finally
        {
            // Also after an unexpected failure (the loop logs it and backs off): the publication is still owed.
            if (!published)
            {
                RequestRetry();
            }
        }

        if (!published)
        {
            await Task.Delay(RetryInterval, Time, stoppingToken);
        }
    }
}
