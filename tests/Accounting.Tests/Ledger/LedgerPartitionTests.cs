using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Ledger;
using Gateway.Aspire.Testing;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

/// <summary>Daily partitions created ahead and dropped past retention, on a fake clock.</summary>
public sealed class LedgerPartitionTests(PostgresServerFixture postgres) : IAsyncLifetime
{
    private static readonly DateTimeOffset s_start = new(2025, 6, 10, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(s_start);
    private string _database = "";
    private AccountingTestHost? _host;

    private AccountingTestHost Host => _host!;

    private LedgerMaintenance Maintenance => Host.Services.GetRequiredService<LedgerMaintenance>();

    public async ValueTask InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync("accounting");
        // A retention of 3 days and 2 days ahead keeps the numbers small (defaults: 90 and 7). The
        // background pass runs only at start here: the tests run passes themselves at the times they choose.
        _host = await AccountingTestHost.StartAsync(_database, _time, new Dictionary<string, string?>
        {
            ["Accounting:Ledger:RetentionDays"] = "3",
            ["Accounting:Ledger:PartitionDaysAhead"] = "2",
            ["Accounting:Ledger:MaintenanceInterval"] = "365.00:00:00",
            // The rollup waits on this fake clock too: advancing it a day starts a round at the same
            // moment as the test's own pass, as in production at midnight.
            ["Accounting:Ledger:RollupInterval"] = "1.00:00:00",
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task Start_CreatesYesterdayToTwoDaysAhead()
    {
        // The maintenance pass at start runs in the background: wait for its partitions.
        var days = await WaitForDaysAsync(d => d.Count >= 4);

        Assert.Equal(["2025-06-09", "2025-06-10", "2025-06-11", "2025-06-12"], days);
    }

    [Fact]
    public async Task ClockAdvance_CreatesAheadAndDropsExpiredDays_WithTheirRowsAndTotals()
    {
        await WaitForDaysAsync(d => d.Count >= 4);
        await RecordAsync("on-9th", s_start.AddDays(-1));
        await RecordAsync("on-10th", s_start);

        _time.Advance(TimeSpan.FromDays(4)); // now 2025-06-14 12:00: keep days from 2025-06-11
        var (created, dropped) = await Maintenance.RunOnceAsync(_time.GetUtcNow(), TestContext.Current.CancellationToken);

        Assert.Equal(4, created); // the 13th to the 16th
        Assert.Equal([new DateOnly(2025, 6, 9), new DateOnly(2025, 6, 10)], dropped);
        Assert.Equal(["2025-06-11", "2025-06-12", "2025-06-13", "2025-06-14", "2025-06-15", "2025-06-16"], await DaysAsync());
        Assert.Equal(0L, await PostgresServerFixture.ScalarAsync<long>(_database, "SELECT count(*) FROM accounting.ledger"));
        Assert.Equal(0L, await PostgresServerFixture.ScalarAsync<long>(_database, "SELECT count(*) FROM accounting.usage_totals"));
        Assert.Equal(0L, await PostgresServerFixture.ScalarAsync<long>(_database,
            "SELECT count(*) FROM pg_class WHERE relname IN ('usage_totals_p20250609', 'usage_totals_p20250610')"));
    }

    [Fact]
    public async Task Drop_WhileARollupHoldsTheTotals_WaitsForItInsteadOfDeadlocking()
    {
        await WaitForDaysAsync(d => d.Count >= 4);
        await RecordAsync("queued-on-9th", s_start.AddDays(-1));
        var ct = TestContext.Current.CancellationToken;
        // The pass runs as of four days later without moving the clock, which would also start the
        // service's own rollup round (it waits on this clock). The days ahead exist already, so the
        // pass only drops: creating a day waits for usage_totals too.
        await Host.Services.GetRequiredService<LedgerPartitions>().EnsureAsync(
            Enumerable.Range(13, 4).Select(d => new DateOnly(2025, 6, d)), ct);

        // A rollup round's shape: its statement holds usage_totals from the start, then deletes the
        // queued rows. The drop used to delete those rows first and then wait for usage_totals.
        await using var rollup = new NpgsqlConnection(_database);
        await rollup.OpenAsync(ct);
        await using var transaction = await rollup.BeginTransactionAsync(ct);
        await using (var hold = new NpgsqlCommand("LOCK TABLE accounting.usage_totals IN ROW EXCLUSIVE MODE", rollup, transaction))
        {
            await hold.ExecuteNonQueryAsync(ct);
        }

        var pass = Maintenance.RunOnceAsync(s_start.AddDays(4), ct);
        await WaitUntilAsync("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'accounting.usage_totals'::regclass");

        long taken;
        await using (var take = new NpgsqlCommand("DELETE FROM accounting.usage_pending", rollup, transaction))
        {
            taken = await take.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        var (_, dropped) = await pass;

        Assert.Equal(1, taken);
        Assert.Equal([new DateOnly(2025, 6, 9), new DateOnly(2025, 6, 10)], dropped);
    }

    [Fact]
    public async Task RecordForADayWithoutPartition_CreatesItOnDemand()
    {
        await WaitForDaysAsync(d => d.Count >= 4);
        var farAhead = s_start.AddDays(20);

        await RecordAsync("ahead", farAhead);

        Assert.Contains("2025-06-30", await DaysAsync());
        Assert.Equal("accounting.ledger_p20250630", await PostgresServerFixture.ScalarAsync<string>(_database,
            "SELECT tableoid::regclass::text FROM accounting.ledger WHERE request_id = 'ahead'"));
    }

    [Fact]
    public async Task RecordForADayAnotherReplicaDropped_RecreatesTheDay()
    {
        await WaitForDaysAsync(d => d.Count >= 4);
        await RecordAsync("first", s_start);
        // Another replica's retention dropped the day behind this one's back.
        await PostgresServerFixture.ScalarAsync<int>(_database, "DROP TABLE accounting.ledger_p20250610, accounting.usage_totals_p20250610");

        await RecordAsync("second", s_start.AddMinutes(1));

        Assert.Equal(1L, await PostgresServerFixture.ScalarAsync<long>(_database, "SELECT count(*) FROM accounting.ledger WHERE request_id = 'second'"));
    }

    private async Task RecordAsync(string requestId, DateTimeOffset startedAt)
    {
        var record = LedgerEntryTests.Valid(requestId);
        record.StartedAt = Timestamp.FromDateTimeOffset(startedAt);
        var reply = await Host.Ledger.RecordAsync(new RecordUsageRequest { Records = { record } }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(1, reply.Written);
    }

    private async Task<List<string>> DaysAsync() =>
        [.. (await Host.Services.GetRequiredService<LedgerPartitions>().ListAsync(TestContext.Current.CancellationToken))
            .Select(d => d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture))];

    private async Task WaitUntilAsync(string countSql)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await PostgresServerFixture.ScalarAsync<long>(_database, countSql) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    private async Task<List<string>> WaitForDaysAsync(Func<List<string>, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var days = await DaysAsync();
            if (done(days) || DateTime.UtcNow > deadline)
            {
                return days;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
