using Gateway.Aspire.Guardrails.Checks;
using Gateway.Aspire.Guardrails.Extensions;
using Gateway.Aspire.Testing;
using Microsoft.AspNetCore.Builder;

namespace Gateway.Aspire.Guardrails.Tests;

/// <summary>
/// The guardrails service composed exactly as Program.cs does, hosted in-process on Kestrel with the
/// AppHost's endpoint layout (HTTP/1.1 <c>http</c>, HTTP/2 <c>grpc</c>) and called over real gRPC.
/// Rules come the way the AppHost gives them: a <c>gateway.yaml</c> named by <c>GATEWAY_CONFIG</c>.
/// </summary>
internal sealed class GuardrailsTestHost : IAsyncDisposable
{
    private readonly GrpcServiceTestHost _host;
    private readonly string? _configPath;

    private GuardrailsTestHost(GrpcServiceTestHost host, string? configPath)
    {
        _host = host;
        _configPath = configPath;
        Guardrails = new Grpc.Guardrails.GuardrailsClient(host.Channel);
    }

    public string HttpUrl => _host.HttpUrl;

    public Grpc.Guardrails.GuardrailsClient Guardrails { get; }

    public IServiceProvider Services => _host.Services;

    /// <summary>
    /// Starts the service with <paramref name="gatewayYaml"/> as its configuration file (none when null);
    /// <paramref name="overrides"/> run after the service's own registrations; with <paramref name="redis"/>
    /// the rules follow the live configuration there.
    /// </summary>
    public static async Task<GuardrailsTestHost> StartAsync(string? gatewayYaml = null, Action<WebApplicationBuilder>? overrides = null, string? redis = null)
    {
        string? path = null;
        if (gatewayYaml is not null)
        {
            path = Path.Combine(Path.GetTempPath(), $"gateway-guardrails-{Guid.NewGuid():N}.yaml");
            await File.WriteAllTextAsync(path, gatewayYaml, TestContext.Current.CancellationToken);
        }

        var host = await GrpcServiceTestHost.StartAsync(
            typeof(GuardrailsService).Assembly,
            new Dictionary<string, string?> { ["GATEWAY_CONFIG"] = path, ["ConnectionStrings:redis"] = redis },
            builder =>
            {
                builder.AddApplicationServices();
                overrides?.Invoke(builder);
            },
            app => app.MapGrpcService<GuardrailsService>());
        return new GuardrailsTestHost(host, path);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        if (_configPath is not null)
        {
            File.Delete(_configPath);
        }
    }
}
