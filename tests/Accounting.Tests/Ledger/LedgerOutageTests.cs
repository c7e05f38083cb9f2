using System.Diagnostics;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Ledger;
using Gateway.Aspire.Testing;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

/// <summary>
/// PostgreSQL crashes (SIGQUIT to the postmaster, as <c>pg_ctl stop -m immediate</c>) in the
/// middle of a load: every acknowledged record ends up in the ledger exactly once, through the
/// spool and its replay. Each test runs a durable PostgreSQL of its own, because it crashes it.
/// </summary>
public sealed class LedgerOutageTests
{
    private const int BatchSize = 100;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 1, TimeSpan.Zero));

    [Fact]
    public async Task Every_record_acknowledged_across_a_postgres_crash_is_in_the_ledger_exactly_once()
    {
        const int n = 6_000;
        var ct = TestContext.Current.CancellationToken;
        await using var postgres = await CrashablePostgresServer.StartAsync("gatewaydb", ct);
        await using var host = await StartHostAsync(postgres);
        var replay = host.Services.GetRequiredService<LedgerReplay>();
        var spool = host.Services.GetRequiredService<LedgerSpool>();
        var batches = Batches(n, "load");

        // The router's shipper, as a loop: a batch at a time, resent until acknowledged.
        var acknowledged = 0;
        var buffered = 0;
        var sender = Task.Run(async () =>
        {
            foreach (var batch in batches)
            {
                var reply = await SendUntilAcknowledgedAsync(host.Ledger, batch, ct);
                buffered += reply.Buffered;
                Volatile.Write(ref acknowledged, acknowledged + batch.Records.Count);
            }
        }, ct);

        await WaitUntilAsync(() => Volatile.Read(ref acknowledged) >= n / 4, ct);
        await postgres.CrashAsync();
        await WaitUntilAsync(() => Volatile.Read(ref acknowledged) >= n * 3 / 4, ct);
        await postgres.RestartAsync(ct);
        await sender;
        await ReplayUntilEmptyAsync(replay, spool, ct);

        // At-least-once delivery: the router may send everything again; nothing counts twice.
        foreach (var batch in batches)
        {
            await SendUntilAcknowledgedAsync(host.Ledger, batch, ct);
        }

        await ReplayUntilEmptyAsync(replay, spool, ct);
        Assert.InRange(buffered, 1, n);
        Assert.Equal(n, await CountAsync(host, "SELECT count(*) FROM accounting.ledger"));
        Assert.Equal(n, await CountAsync(host, "SELECT count(DISTINCT request_id) FROM accounting.ledger"));
        await host.RollUpAsync(ct);
        Assert.Equal(n, await CountAsync(host, "SELECT coalesce(sum(requests), 0) FROM accounting.usage_totals WHERE dimension = 'route' AND grain = 'day' AND team = ''"));
        TestContext.Current.TestOutputHelper?.WriteLine($"{n} records, {buffered} buffered during the outage and replayed");
    }

    [Fact]
    public async Task A_crash_mid_replay_and_a_torn_append_lose_and_duplicate_nothing()
    {
        const int n = 20_000;
        var ct = TestContext.Current.CancellationToken;
        await using var postgres = await CrashablePostgresServer.StartAsync("gatewaydb", ct);
        await using var host = await StartHostAsync(postgres);
        var replay = host.Services.GetRequiredService<LedgerReplay>();
        var spool = host.Services.GetRequiredService<LedgerSpool>();

        await postgres.CrashAsync();
        var buffered = 0;
        var spooling = Stopwatch.StartNew();
        foreach (var batch in Batches(n, "spooled", batchSize: 500))
        {
            buffered += (await host.Ledger.RecordAsync(batch, cancellationToken: ct)).Buffered;
        }

        var spoolSeconds = spooling.Elapsed.TotalSeconds;
        Assert.Equal(n, buffered);
        var segments = await spool.SealedSegmentsAsync(ct);
        var kept = Directory.CreateTempSubdirectory("spool-copy").FullName;
        try
        {
            foreach (var segment in segments)
            {
                File.Copy(segment, Path.Combine(kept, Path.GetFileName(segment)));
            }

            await postgres.RestartAsync(ct);
            var elapsed = Stopwatch.StartNew();
            Assert.Equal(n, await replay.ReplayAsync(ct));
            var seconds = elapsed.Elapsed.TotalSeconds;

            // As if the process had died after those commits but before deleting the segments,
            // and mid-append of a batch it never acknowledged: the segments are back, one torn.
            foreach (var segment in Directory.GetFiles(kept))
            {
                File.Copy(segment, Path.Combine(spool.Directory, Path.GetFileName(segment)));
            }

            await using (var torn = new FileStream(Directory.GetFiles(spool.Directory)[0], FileMode.Append))
            {
                await torn.WriteAsync(new byte[] { 0x40, 0x00, 0x00, 0x00, 1, 2, 3 }, ct);
            }

            Assert.Equal(n, await replay.ReplayAsync(ct));
            Assert.False(spool.HasSegments);
            Assert.Equal(n, await CountAsync(host, "SELECT count(*) FROM accounting.ledger"));
            await host.RollUpAsync(ct);
            Assert.Equal(n, await CountAsync(host, "SELECT coalesce(sum(requests), 0) FROM accounting.usage_totals WHERE dimension = 'route' AND grain = 'day' AND team = ''"));
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"spooled {n} records (batches of 500) in {spoolSeconds:0.00} s: {n / spoolSeconds:0} rows/s; replayed them in {seconds:0.00} s: {n / seconds:0} rows/s");
        }
        finally
        {
            Directory.Delete(kept, recursive: true);
        }
    }

    [Fact]
    public async Task A_spool_left_by_an_earlier_run_is_replayed_when_the_service_starts()
    {
        const int n = 1_000;
        var ct = TestContext.Current.CancellationToken;
        await using var postgres = await CrashablePostgresServer.StartAsync("gatewaydb", ct);
        var spoolDirectory = TestDirectories.Create("ledger-spool-restart");
        try
        {
            var settings = new Dictionary<string, string?> { ["Accounting:Ledger:SpoolDirectory"] = spoolDirectory };
            await using (var first = await AccountingTestHost.StartAsync(postgres.GetConnectionString("gatewaydb"), _time, settings))
            {
                await postgres.CrashAsync();
                foreach (var batch in Batches(n, "earlier-run"))
                {
                    Assert.Equal(batch.Records.Count, (await first.Ledger.RecordAsync(batch, cancellationToken: ct)).Buffered);
                }
            }

            await postgres.RestartAsync(ct);
            await using var second = await AccountingTestHost.StartAsync(postgres.GetConnectionString("gatewaydb"), _time, settings);
            var spool = second.Services.GetRequiredService<LedgerSpool>();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (spool.HasSegments)
            {
                Assert.True(DateTime.UtcNow < deadline, "the spool was not replayed at start within 60 s");
                await Task.Delay(50, ct);
            }

            Assert.Equal(n, await CountAsync(second, "SELECT count(*) FROM accounting.ledger"));
        }
        finally
        {
            TestDirectories.Delete(spoolDirectory);
        }
    }

    [Fact]
    public async Task When_neither_postgres_nor_the_spool_can_take_a_batch_it_is_unavailable()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var postgres = await CrashablePostgresServer.StartAsync("gatewaydb", ct);
        await using var host = await StartHostAsync(postgres);
        var spool = host.Services.GetRequiredService<LedgerSpool>();
        await postgres.CrashAsync();

        // The spool's directory replaced by a file: every append fails, as on a full or lost disk.
        Directory.Delete(spool.Directory, recursive: true);
        await File.WriteAllTextAsync(spool.Directory, "", ct);
        try
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
                await host.Ledger.RecordAsync(Batches(1, "nowhere")[0], cancellationToken: ct));
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        }
        finally
        {
            File.Delete(spool.Directory);
        }
    }

    private Task<AccountingTestHost> StartHostAsync(CrashablePostgresServer postgres) =>
        // Replay driven by the test (ReplayAsync), not the hourly-looking fake clock.
        AccountingTestHost.StartAsync(postgres.GetConnectionString("gatewaydb"), _time);

    private static List<RecordUsageRequest> Batches(int count, string prefix, int batchSize = BatchSize)
    {
        var batches = new List<RecordUsageRequest>();
        for (var i = 0; i < count; i += batchSize)
        {
            var batch = new RecordUsageRequest();
            for (var j = i; j < Math.Min(count, i + batchSize); j++)
            {
                batch.Records.Add(LedgerEntryTests.Valid($"{prefix}-{j}"));
            }

            batches.Add(batch);
        }

        return batches;
    }

    private static async Task<RecordUsageReply> SendUntilAcknowledgedAsync(Grpc.Ledger.LedgerClient ledger, RecordUsageRequest batch, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return await ledger.RecordAsync(batch, cancellationToken: ct);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                await Task.Delay(50, ct);
            }
        }
    }

    private static async Task ReplayUntilEmptyAsync(LedgerReplay replay, LedgerSpool spool, CancellationToken ct)
    {
        while (spool.HasSegments || spool.Outage)
        {
            await replay.ReplayAsync(ct);
            if (spool.HasSegments)
            {
                // PostgreSQL is still finishing crash recovery.
                await Task.Delay(100, ct);
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
        {
            await Task.Delay(5, ct);
        }
    }

    private static async Task<long> CountAsync(AccountingTestHost host, string sql) =>
        await PostgresServerFixture.ScalarAsync<long>(host.Database, sql);
}
