using System.Diagnostics;
using Gateway.Aspire.ServiceDefaults.Background;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>
/// Writes what <see cref="LedgerSpool"/> buffered during a PostgreSQL outage into the ledger: at
/// start (segments a crash or an earlier outage left) and every <see cref="LedgerOptions.ReplayInterval"/>.
/// </summary>
/// <remarks>
/// Segments go oldest first, frames in the order they were acknowledged; a segment is deleted only
/// after all its rows are committed. A crash or a new outage mid-segment leaves it in place and the
/// next pass writes it again from the start: the ledger is idempotent on (request id, started_at)
/// and only new rows feed the hourly totals, so rows already written are dropped, not doubled, and
/// none is lost. Order does not matter for correctness (rows and totals are keyed and additive); it
/// only keeps the oldest usage from waiting longest.
/// </remarks>
internal sealed class LedgerReplay(
    LedgerSpool spool,
    LedgerWriter writer,
    IOptions<LedgerOptions> options,
    TimeProvider time,
    ILogger<LedgerReplay> logger) : BackgroundLoop(time, logger)
{
    /// <inheritdoc />
    protected override TimeSpan Interval => options.Value.ReplayInterval;

    /// <inheritdoc />
    protected override async Task RunIterationAsync(CancellationToken stoppingToken)
    {
        if (spool.HasSegments)
        {
            await ReplayAsync(stoppingToken);
        }
    }

    /// <summary>
    /// One pass: every segment, this replica's open one last; returns the records written back
    /// (duplicates included). Stops at the first failure, leaving the rest for the next pass.
    /// </summary>
    public async Task<int> ReplayAsync(CancellationToken cancellationToken)
    {
        var replayed = 0;
        var elapsed = Stopwatch.StartNew();
        var progress = true;
        while (progress)
        {
            progress = false;
            foreach (var path in await spool.SealedSegmentsAsync(cancellationToken))
            {
                using var segment = LedgerSpool.TryRead(path, out var torn);
                if (segment is null)
                {
                    // Still being written by another replica, or that replica is replaying it.
                    continue;
                }

                if (torn > 0)
                {
                    AccountingLog.SpoolTornTail(logger, Path.GetFileName(path), torn);
                }

                try
                {
                    var written = await WriteAsync(segment, cancellationToken);
                    AccountingLog.SpoolSegmentReplayed(logger, Path.GetFileName(path), segment.Records, written);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    // Down again (or still): keep the segment; the next pass starts it over.
                    spool.Outage = true;
                    AccountingLog.SpoolReplayFailed(logger, Path.GetFileName(path), e.Message);
                    Report(replayed, elapsed);
                    return replayed;
                }

                spool.Delete(segment);
                replayed += segment.Records;
                progress = true;
            }
        }

        Report(replayed, elapsed);
        return replayed;
    }

    private void Report(int replayed, Stopwatch elapsed)
    {
        if (replayed > 0)
        {
            AccountingLog.SpoolReplayed(logger, replayed, elapsed.Elapsed.TotalSeconds);
        }
    }

    private async Task<int> WriteAsync(SpoolSegment segment, CancellationToken cancellationToken)
    {
        var max = options.Value.ReplayBatchRows;
        var entries = new List<LedgerEntry>(Math.Min(max, segment.Records));
        var written = 0;
        foreach (var batch in segment.Batches)
        {
            foreach (var record in batch.Records)
            {
                // Validated before they were spooled; a record that no longer passes (a stricter
                // version since) cannot be written and must not hold back the rest.
                if (LedgerEntry.From(record, out var error) is { } entry)
                {
                    entries.Add(entry);
                }
                else
                {
                    AccountingLog.SpoolRecordInvalid(logger, record.RequestId, error ?? "");
                }

                if (entries.Count >= max)
                {
                    written += await FlushAsync(entries, cancellationToken);
                }
            }
        }

        return written + await FlushAsync(entries, cancellationToken);
    }

    private async Task<int> FlushAsync(List<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return 0;
        }

        var written = await writer.WriteAsync(entries, Time.GetUtcNow(), cancellationToken);
        entries.Clear();
        // PostgreSQL took a write: new batches may go to it again while the rest is replayed.
        spool.Outage = false;
        return written;
    }
}
