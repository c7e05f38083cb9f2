using System.Collections.Concurrent;
using System.Globalization;
using Npgsql;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>
/// The ledger's daily partitions (UTC days; the same day of <c>accounting.ledger</c> and
/// <c>accounting.usage_totals</c> is created and dropped together). Creation goes through
/// <c>accounting.ensure_ledger_partition</c>, which takes an advisory lock, so replicas can race.
/// </summary>
public sealed class LedgerPartitions(NpgsqlDataSource dataSource)
{
    private const string LedgerPrefix = "ledger_p";

    // Tries at taking the parents' locks (waits 0.5 s each, backs off 0.1-0.4 s in between) before a
    // maintenance pass gives up until the next one.
    private const int DropAttempts = 5;

    // Days known to have a partition: a write checks the batch's days here and only asks
    // PostgreSQL about a day it has not seen (in practice once a day per process).
    private readonly ConcurrentDictionary<DateOnly, byte> _known = new();

    /// <summary>The UTC day <paramref name="time"/> falls on.</summary>
    public static DateOnly DayOf(DateTimeOffset time) => DateOnly.FromDateTime(time.UtcDateTime);

    /// <summary>Creates the partitions of <paramref name="days"/> that do not exist yet; returns how many were created.</summary>
    public async Task<int> EnsureAsync(IEnumerable<DateOnly> days, CancellationToken cancellationToken)
    {
        var missing = days.Where(d => !_known.ContainsKey(d)).Distinct().ToArray();
        if (missing.Length == 0)
        {
            return 0;
        }

        await using var command = dataSource.CreateCommand(
            "SELECT count(*) FILTER (WHERE accounting.ensure_ledger_partition(d)) FROM unnest($1::date[]) AS d");
        command.Parameters.Add(new NpgsqlParameter<DateOnly[]> { TypedValue = missing });
        var created = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        foreach (var day in missing)
        {
            _known[day] = 0;
        }

        return created;
    }

    /// <summary>Forgets what exists (another replica may have dropped a day); the next write checks again.</summary>
    public void Forget() => _known.Clear();

    /// <summary>The days that have a partition, in order.</summary>
    public async Task<IReadOnlyList<DateOnly>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'accounting.ledger'::regclass
            """);
        var days = new List<DateOnly>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (TryParseDay(reader.GetString(0), out var day))
            {
                days.Add(day);
            }
        }

        days.Sort();
        return days;
    }

    /// <summary>
    /// Drops the partitions of every day before <paramref name="firstKeptDay"/> (DROP TABLE: no
    /// DELETE, nothing for VACUUM to do); returns the days dropped.
    /// </summary>
    /// <remarks>
    /// Dropping a partition takes an ACCESS EXCLUSIVE lock on its parent as well. Taken in the
    /// middle of the transaction, after the queue rows were deleted, that deadlocked with a rollup
    /// round holding <c>usage_totals</c> and waiting for those rows (seen in CI). So the parents are
    /// locked first, before anything else, with a lock timeout below PostgreSQL's deadlock timeout
    /// (1 s): a reader that locked them in the other order makes this pass give up and retry rather
    /// than have the deadlock detector cancel the reader's query, and writers queue behind the drop
    /// for at most that long.
    /// </remarks>
    public async Task<IReadOnlyList<DateOnly>> DropBeforeAsync(DateOnly firstKeptDay, CancellationToken cancellationToken)
    {
        var expired = (await ListAsync(cancellationToken)).Where(d => d < firstKeptDay).ToArray();
        if (expired.Length == 0)
        {
            return expired;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await DropAsync(expired, firstKeptDay, cancellationToken);
                return expired;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.DeadlockDetected
                && attempt < DropAttempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken);
            }
        }
    }

    private async Task DropAsync(DateOnly[] expired, DateOnly firstKeptDay, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("""
            SELECT pg_advisory_xact_lock(hashtext('accounting.ledger partitions'));
            SET LOCAL lock_timeout = '500ms';
            LOCK TABLE accounting.ledger, accounting.usage_totals IN ACCESS EXCLUSIVE MODE;
            """, connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        // Queued rows of those days would have no totals partition to go to.
        await using (var unqueue = new NpgsqlCommand($"DELETE FROM accounting.{UsageTotals.PendingTable} WHERE started_at < $1", connection, transaction))
        {
            unqueue.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = new DateTimeOffset(firstKeptDay.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) });
            await unqueue.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var day in expired)
        {
            var suffix = day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            // The names come from our own day format, never from input: safe to splice.
            await using var drop = new NpgsqlCommand(
                $"DROP TABLE IF EXISTS accounting.{LedgerPrefix}{suffix}, accounting.usage_totals_p{suffix}", connection, transaction);
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        foreach (var day in expired)
        {
            _known.TryRemove(day, out _);
        }
    }

    private static bool TryParseDay(string tableName, out DateOnly day)
    {
        day = default;
        return tableName.StartsWith(LedgerPrefix, StringComparison.Ordinal)
            && DateOnly.TryParseExact(tableName.AsSpan(LedgerPrefix.Length), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
    }
}
