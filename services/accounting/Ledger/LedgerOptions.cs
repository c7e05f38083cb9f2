namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>Settings of the ledger (configuration section <c>Accounting:Ledger</c>).</summary>
public sealed record LedgerOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Accounting:Ledger";

    /// <summary>
    /// Days of rows kept. A day's partition is dropped once all of it is older than this, so rows
    /// live at least this long and at most one day more. Default: 90.
    /// </summary>
    public int RetentionDays { get; init; } = 90;

    /// <summary>Days of partitions created ahead of today, so writes never wait for DDL. Default: 7.</summary>
    public int PartitionDaysAhead { get; init; } = 7;

    /// <summary>How often partitions are created ahead and expired ones dropped. Default: 1 hour.</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How a batch reaches PostgreSQL: <see cref="LedgerWriteMethod.Unnest"/> (default: the faster
    /// for the router's batches of 500, see docs/perf/ledger.md) or <see cref="LedgerWriteMethod.Copy"/>;
    /// both are idempotent.
    /// </summary>
    public LedgerWriteMethod WriteMethod { get; init; } = LedgerWriteMethod.Unnest;

    /// <summary>
    /// Where batches are kept (fsynced) while PostgreSQL is unavailable, until they are replayed;
    /// relative to the content root. Must survive a restart (a volume in a container). Default: <c>data/ledger-spool</c>.
    /// </summary>
    public string SpoolDirectory { get; init; } = Path.Combine("data", "ledger-spool");

    /// <summary>How often buffered batches are replayed into PostgreSQL. Default: 5 seconds.</summary>
    public TimeSpan ReplayInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Most rows per replay write (one transaction). Default: 5,000.</summary>
    public int ReplayBatchRows { get; init; } = 5_000;

    /// <summary>
    /// How often queued ledger rows are added to the usage totals. Analytics read the queue too, so
    /// answers never lag; a longer interval upserts fewer totals per row. Default: 2 seconds.
    /// </summary>
    public TimeSpan RollupInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most queued rows added to the totals per transaction. Default: 50,000.</summary>
    public int RollupBatchRows { get; init; } = 50_000;
}

/// <summary>How <see cref="LedgerWriter"/> sends a batch.</summary>
public enum LedgerWriteMethod
{
    /// <summary>Binary COPY into a transaction-scoped staging table, then one INSERT … ON CONFLICT DO NOTHING.</summary>
    Copy,

    /// <summary>One INSERT … SELECT FROM unnest(arrays) … ON CONFLICT DO NOTHING: one round trip.</summary>
    Unnest,
}
