using Gateway.Aspire.Guardrails.Checks;
using Gateway.Aspire.Guardrails.Extensions;
using Gateway.Aspire.Hosting.Servers;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.Guardrails.Tests;

/// <summary>
/// The guardrails service composed exactly as Program.cs does, hosted in-process on Kestrel with the
/// AppHost's endpoint layout (HTTP/1.1 <c>http</c>, HTTP/2 <c>grpc</c>) and called over real gRPC.
/// </summary>
internal sealed class GuardrailsTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;

    private GuardrailsTestHost(WebApplication app, GrpcChannel channel, string httpUrl)
    {
        _app = app;
        _channel = channel;
        HttpUrl = httpUrl;
        Guardrails = new Grpc.Guardrails.GuardrailsClient(channel);
    }

    public string HttpUrl { get; }

    public Grpc.Guardrails.GuardrailsClient Guardrails { get; }

    public static async Task<GuardrailsTestHost> StartAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Development",
            ApplicationName = typeof(GuardrailsService).Assembly.GetName().Name,
        });
        var httpUrl = $"http://127.0.0.1:{FreePort.Next()}";
        var grpcUrl = $"http://127.0.0.1:{FreePort.Next()}";
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:http:Url"] = httpUrl,
            ["Kestrel:Endpoints:grpc:Url"] = grpcUrl,
            ["Kestrel:Endpoints:grpc:Protocols"] = "Http2",
        });
        builder.Logging.ClearProviders();

        builder.AddServiceDefaults();
        builder.AddApplicationServices();

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGrpcService<GuardrailsService>();
        await app.StartAsync(TestContext.Current.CancellationToken);

        return new GuardrailsTestHost(app, GrpcChannel.ForAddress(grpcUrl), httpUrl);
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
