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

    private AccountingTestHost(GrpcServiceTestHost host, string database)
    {
        _host = host;
        Database = database;
        Ledger = new Grpc.Ledger.LedgerClient(host.Channel);
        Analytics = new Grpc.Analytics.AnalyticsClient(host.Channel);
    }

    public Grpc.Ledger.LedgerClient Ledger { get; }

    public Grpc.Analytics.AnalyticsClient Analytics { get; }

    /// <summary>The service's container (its partitions, its maintenance).</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>Connection string of the service's <c>gatewaydb</c>, for assertions.</summary>
    public string Database { get; }

    public static async Task<AccountingTestHost> StartAsync(
        string gatewaydb, TimeProvider? time = null, IReadOnlyDictionary<string, string?>? settings = null) =>
        new(await GrpcServiceTestHost.StartAsync(
            typeof(LedgerService).Assembly,
            new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["ConnectionStrings:gatewaydb"] = gatewaydb },
            builder =>
            {
                builder.AddApplicationServices();
                if (time is not null)
                {
                    builder.Services.AddSingleton(time);
                }
            },
            app => app.MapAccountingServices()),
            gatewaydb);

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
