using Gateway.Aspire.Guardrails.Checks;
using Gateway.Aspire.Guardrails.Extensions;
using Gateway.Aspire.Testing;
using Microsoft.AspNetCore.Builder;

namespace Gateway.Aspire.Guardrails.Tests;

/// <summary>
/// The guardrails service composed exactly as Program.cs does, hosted in-process on Kestrel with the
/// AppHost's endpoint layout (HTTP/1.1 <c>http</c>, HTTP/2 <c>grpc</c>) and called over real gRPC.
/// </summary>
internal sealed class GuardrailsTestHost : IAsyncDisposable
{
    private readonly GrpcServiceTestHost _host;

    private GuardrailsTestHost(GrpcServiceTestHost host)
    {
        _host = host;
        Guardrails = new Grpc.Guardrails.GuardrailsClient(host.Channel);
    }

    public string HttpUrl => _host.HttpUrl;

    public Grpc.Guardrails.GuardrailsClient Guardrails { get; }

    public static async Task<GuardrailsTestHost> StartAsync() =>
        new(await GrpcServiceTestHost.StartAsync(
            typeof(GuardrailsService).Assembly,
            new Dictionary<string, string?>(),
            builder => builder.AddApplicationServices(),
            app => app.MapGrpcService<GuardrailsService>()));

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
