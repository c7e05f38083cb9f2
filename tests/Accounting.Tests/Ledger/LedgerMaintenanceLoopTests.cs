using Gateway.Aspire.Accounting.Ledger;
using Gateway.Aspire.ServiceDefaults.Background;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

/// <summary>
/// Accounting's background loops (<see cref="BackgroundLoop"/>) survive what used to stop the whole
/// service: an iteration that throws a TaskCanceledException that is not the host stopping (an HTTP or
/// command timeout). As a BackgroundService, that ended ExecuteAsync cancelled, the host logged
/// "BackgroundService failed" and stopped the process (BackgroundServiceExceptionBehavior.StopHost).
/// Real PostgreSQL; the loop's clock is fake.
/// </summary>
public sealed class LedgerMaintenanceLoopTests(PostgresServerFixture postgres)
{
    private static readonly DateTimeOffset s_start = new(2025, 6, 10, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_timeout_in_one_maintenance_pass_is_logged_and_retried_and_the_service_keeps_running()
    {
        var time = new ClockThatTimesOutOnce(s_start);
        await using var host = await AccountingTestHost.StartAsync(await postgres.CreateDatabaseAsync("accounting"), time, new Dictionary<string, string?>
        {
            ["Accounting:Ledger:MaintenanceInterval"] = "365.00:00:00",
        });
        var maintenance = host.Services.GetRequiredService<LedgerMaintenance>();

        await LiveConfigWriter.UntilAsync(() => Task.FromResult(maintenance.ConsecutiveFailures == 1), "the first pass failed", TimeSpan.FromSeconds(30));
        // The retry waits a backoff of 1 s on the loop's clock (advanced until the loop has taken it).
        await LiveConfigWriter.UntilAsync(() =>
        {
            time.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(maintenance.Iterations == 1);
        }, "the retried pass succeeded", TimeSpan.FromSeconds(30));

        Assert.Equal(0, maintenance.ConsecutiveFailures);
        Assert.False(host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        // The pass did its work: today's partition exists (a write to it lands).
        var (created, _) = await maintenance.RunOnceAsync(time.GetUtcNow(), TestContext.Current.CancellationToken);
        Assert.Equal(0, created);
    }

    [Fact]
    public void Backoff_doubles_from_a_second_up_to_a_minute_or_the_interval()
    {
        var hourly = TimeSpan.FromHours(1);
        Assert.Equal([1, 2, 4, 8, 16, 32, 64, 128], Enumerable.Range(1, 8).Select(n => BackgroundLoop.Backoff(hourly, n).TotalSeconds));
        Assert.Equal(hourly, BackgroundLoop.Backoff(hourly, 40));
        var everySecond = TimeSpan.FromSeconds(1);
        Assert.Equal([1, 2, 4, 60, 60], new[] { 1, 2, 3, 7, 100 }.Select(n => BackgroundLoop.Backoff(everySecond, n).TotalSeconds));
        Assert.Equal(0.25, BackgroundLoop.Backoff(TimeSpan.FromMilliseconds(250), 1).TotalSeconds);
        Assert.Equal(1, BackgroundLoop.Backoff(TimeSpan.Zero, 1).TotalSeconds);
    }

    /// <summary>A fake clock whose first reading by the maintenance pass throws as a timed-out call would.</summary>
    private sealed class ClockThatTimesOutOnce(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private int _thrown;

        public override DateTimeOffset GetUtcNow()
        {
            if (Environment.StackTrace.Contains("LedgerMaintenance.RunIterationAsync", StringComparison.Ordinal) && Interlocked.Exchange(ref _thrown, 1) == 0)
            {
                throw new TaskCanceledException("A timeout (simulated), not the host stopping.");
            }

            return base.GetUtcNow();
        }
    }
}
