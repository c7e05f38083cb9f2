using Gateway.Aspire.Accounting.Extensions;
using Gateway.Aspire.Accounting.Ledger;
using Gateway.Aspire.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Aspire.Accounting.Tests;

/// <summary>
/// The accounting service composed exactly as Program.cs does, hosted in-process on Kestrel with the
/// AppHost's endpoint layout (HTTP/1.1 <c>http</c>, HTTP/2 <c>grpc</c>) and called over real gRPC.
/// </summary>
internal sealed class AccountingTestHost : IAsyncDisposable
{
    private readonly GrpcServiceTestHost _host;

    private readonly string _spool;

    private AccountingTestHost(GrpcServiceTestHost host, string database, string spool)
    {
        _host = host;
        _spool = spool;
        Database = database;
        Ledger = new Grpc.Ledger.LedgerClient(host.Channel);
        Analytics = new Grpc.Analytics.AnalyticsClient(host.Channel);
    }

    public Grpc.Ledger.LedgerClient Ledger { get; }

    public Grpc.Analytics.AnalyticsClient Analytics { get; }

    /// <summary>The <c>http</c> endpoint (probes, <c>/metrics</c>).</summary>
    public string HttpUrl => _host.HttpUrl;

    /// <summary>The service's container (its partitions, its maintenance).</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>Adds the queued ledger rows to the usage totals now (the service does it every couple of seconds).</summary>
    public Task<long> RollUpAsync(CancellationToken cancellationToken) =>
        Services.GetRequiredService<UsageRollup>().RollUpAsync(cancellationToken);

    /// <summary>Connection string of the service's <c>gatewaydb</c>, for assertions.</summary>
    public string Database { get; }

    /// <summary>Starts the service on <paramref name="gatewaydb"/> with a ledger spool directory of its own (removed on dispose).</summary>
    public static async Task<AccountingTestHost> StartAsync(
        string gatewaydb, TimeProvider? time = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        // Each host its own spool: a batch buffered by one test must never be replayed into another's database.
        var spool = TestDirectories.Create("ledger-spool");
        var configuration = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["ConnectionStrings:gatewaydb"] = gatewaydb,
        };
        configuration.TryAdd("Accounting:Ledger:SpoolDirectory", spool);
        return new(await GrpcServiceTestHost.StartAsync(
            typeof(LedgerService).Assembly,
            configuration,
            builder =>
            {
                builder.AddApplicationServices();
                if (time is not null)
                {
                    builder.Services.AddSingleton(time);
                }
            },
            app => app.MapAccountingServices()),
            gatewaydb,
            spool);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        TestDirectories.Delete(_spool);
    }
}
