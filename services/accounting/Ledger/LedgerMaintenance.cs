using Gateway.Aspire.ServiceDefaults.Background;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>
/// Keeps the ledger's partitions in shape on the injected clock: at start and every
/// <see cref="LedgerOptions.MaintenanceInterval"/>, creates yesterday's to
/// <see cref="LedgerOptions.PartitionDaysAhead"/> days ahead and drops those past retention.
/// </summary>
public sealed class LedgerMaintenance(
    LedgerPartitions partitions, IOptions<LedgerOptions> options, TimeProvider time, ILogger<LedgerMaintenance> logger)
    : BackgroundLoop(time, logger)
{
    /// <summary>One pass at <paramref name="now"/>; returns the days created ahead (count) and dropped.</summary>
    public async Task<(int Created, IReadOnlyList<DateOnly> Dropped)> RunOnceAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var today = LedgerPartitions.DayOf(now);
        // Yesterday too: a record started just before midnight may arrive after it.
        var days = Enumerable.Range(-1, settings.PartitionDaysAhead + 2).Select(today.AddDays);
        var created = await partitions.EnsureAsync(days, cancellationToken);

        // A day's partition goes once its last instant is older than the retention.
        var firstKept = LedgerPartitions.DayOf(now.AddDays(-settings.RetentionDays));
        var dropped = await partitions.DropBeforeAsync(firstKept, cancellationToken);
        AccountingLog.PartitionsMaintained(logger, created, dropped.Count, firstKept);
        return (created, dropped);
    }

    /// <inheritdoc />
    protected override TimeSpan Interval => options.Value.MaintenanceInterval;

    /// <inheritdoc />
    protected override async Task RunIterationAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunOnceAsync(Time.GetUtcNow(), stoppingToken);
        }
        catch (NpgsqlException e) when (!stoppingToken.IsCancellationRequested)
        {
            // Writes create their own day on demand, so a missed pass only delays retention.
            AccountingLog.PartitionMaintenanceFailed(logger, e.Message);
        }
    }
}
