using System.Globalization;
using System.Text.RegularExpressions;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Ledger;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

/// <summary>The spool's gauges on accounting's <c>/metrics</c>: up while PostgreSQL is down, back to zero once replayed.</summary>
/// <remarks>
/// Alone (<see cref="LedgerSpoolMetricsCollection"/>): every host's exporter listens to every meter of
/// its name in the process, so another accounting host running beside this one would add its own series.
/// </remarks>
[Collection(LedgerSpoolMetricsCollection.Name)]
public sealed partial class LedgerSpoolMetricsTests
{
    [Fact]
    public async Task SpoolBytesAndSegments_RiseWhenBatchesAreSpooled_AndFallToZeroWhenReplayed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var postgres = await CrashablePostgresServer.StartAsync("gatewaydb", ct);
        // Replay driven by the test, not by the (frozen) clock.
        await using var host = await AccountingTestHost.StartAsync(
            postgres.GetConnectionString("gatewaydb"), new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 1, TimeSpan.Zero)));
        var spool = host.Services.GetRequiredService<LedgerSpool>();
        using var http = new HttpClient { BaseAddress = new Uri(host.HttpUrl) };
        Assert.Equal((0, 0), await ScrapeUntilAsync(http, v => v == (0, 0)));

        await postgres.CrashAsync();
        for (var b = 0; b < 3; b++)
        {
            var batch = new RecordUsageRequest();
            for (var i = 0; i < 50; i++)
            {
                batch.Records.Add(LedgerEntryTests.Valid($"spooled-{b}-{i}"));
            }

            Assert.Equal(50, (await host.Ledger.RecordAsync(batch, cancellationToken: ct)).Buffered);
        }

        var onDisk = spool.OnDisk();
        Assert.True(onDisk.Bytes > 3 * 50 * 100, $"three batches of 50 records take more than 15 kB, not {onDisk.Bytes} bytes");
        Assert.Equal(onDisk, await ScrapeUntilAsync(http, v => v == onDisk));

        await postgres.RestartAsync(ct);
        var replay = host.Services.GetRequiredService<LedgerReplay>();
        while (spool.HasSegments || spool.Outage)
        {
            await replay.ReplayAsync(ct);
            if (spool.HasSegments)
            {
                // PostgreSQL is still finishing crash recovery.
                await Task.Delay(100, ct);
            }
        }

        Assert.Equal((0, 0), await ScrapeUntilAsync(http, v => v == (0, 0)));
        Assert.Equal(150, await PostgresServerFixture.ScalarAsync<long>(host.Database, "SELECT count(*) FROM accounting.ledger"));
    }

    // The exporter may answer from its short cache: scrape until the value shows (or 5 s pass), return the last.
    private static async Task<(long Bytes, int Segments)> ScrapeUntilAsync(HttpClient http, Func<(long, int), bool> expected)
    {
        (long, int) last = default;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var text = await http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
            last = ((long)Gauge(text, "gateway_ledger_spool_bytes"), (int)Gauge(text, "gateway_ledger_spool_segments"));
            if (expected(last))
            {
                break;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        return last;
    }

    private static double Gauge(string scrape, string name)
    {
        var match = GaugeLine().Matches(scrape).SingleOrDefault(m => m.Groups["name"].Value == name);
        Assert.True(match is not null, $"{name} is not on /metrics");
        return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^(?<name>gateway_ledger_spool_\w+)(\{[^}]*\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex GaugeLine();
}

/// <summary>Runs <see cref="LedgerSpoolMetricsTests"/> with no other test beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LedgerSpoolMetricsCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "ledger-spool-metrics";
}
