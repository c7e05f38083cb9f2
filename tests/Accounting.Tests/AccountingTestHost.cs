using Gateway.Aspire.Accounting.Extensions;
using Gateway.Aspire.Accounting.Ledger;
using Gateway.Aspire.Hosting.Servers;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.Accounting.Tests;

/// <summary>
/// The accounting service composed exactly as Program.cs does, hosted in-process on Kestrel with the
/// AppHost's endpoint layout (HTTP/1.1 <c>http</c>, HTTP/2 <c>grpc</c>) and called over real gRPC.
/// </summary>
internal sealed class AccountingTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;

    private AccountingTestHost(WebApplication app, GrpcChannel channel)
    {
        _app = app;
        _channel = channel;
        Ledger = new Grpc.Ledger.LedgerClient(channel);
    }

    public Grpc.Ledger.LedgerClient Ledger { get; }

    public static async Task<AccountingTestHost> StartAsync(string gatewaydb, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Development",
            ApplicationName = typeof(LedgerService).Assembly.GetName().Name,
        });
        var grpcUrl = $"http://127.0.0.1:{FreePort.Next()}";
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:gatewaydb"] = gatewaydb,
            ["Kestrel:Endpoints:http:Url"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Kestrel:Endpoints:grpc:Url"] = grpcUrl,
            ["Kestrel:Endpoints:grpc:Protocols"] = "Http2",
        });
        builder.Logging.ClearProviders();

        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGrpcService<LedgerService>();
        await app.StartAsync(TestContext.Current.CancellationToken);

        return new AccountingTestHost(app, GrpcChannel.ForAddress(grpcUrl));
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
