using Microsoft.Extensions.Time.Testing;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Testing;
using Grpc.Core;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

/// <summary>
/// What the router sees when PostgreSQL goes away: Unavailable (retry later), never an
/// acknowledgement. Uses a PostgreSQL of its own, because it stops it.
/// </summary>
public sealed class LedgerOutageTests
{
    [Fact]
    public async Task Record_WhenPostgresIsDown_IsUnavailable()
    {
        var directory = TestDirectories.Create("postgres-outage");
        try
        {
            var server = await PostgresServer.StartAsync(
                new PostgresServerOptions { DataDirectory = Path.Combine(directory, "data"), Output = TextWriter.Null, NonDurable = true },
                TestContext.Current.CancellationToken);
            await using (server)
            {
                await server.EnsureDatabaseAsync("gatewaydb", TestContext.Current.CancellationToken);
                await using var host = await AccountingTestHost.StartAsync(server.GetConnectionString("gatewaydb"), new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 1, TimeSpan.Zero)));
                var ok = await host.Ledger.RecordAsync(
                    new RecordUsageRequest { Records = { LedgerEntryTests.Valid("before") } }, cancellationToken: TestContext.Current.CancellationToken);
                Assert.Equal(1, ok.Written);

                await server.StopAsync();

                var e = await Assert.ThrowsAsync<RpcException>(async () => await host.Ledger.RecordAsync(
                    new RecordUsageRequest { Records = { LedgerEntryTests.Valid("during") } }, cancellationToken: TestContext.Current.CancellationToken));
                Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            }
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }
}
