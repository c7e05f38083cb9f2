using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Extensions;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.Policy.Tests;

/// <summary>
/// The policy service composed exactly as Program.cs does, hosted in-process on Kestrel with the
/// AppHost's endpoint layout (HTTP/1.1 <c>http</c>, HTTP/2 <c>grpc</c>) and called over real gRPC.
/// </summary>
internal sealed class PolicyTestHost : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;

    private PolicyTestHost(WebApplication app, GrpcChannel channel, string httpUrl)
    {
        _app = app;
        _channel = channel;
        HttpUrl = httpUrl;
        Admission = new Grpc.Admission.AdmissionClient(channel);
        Tokens = new Grpc.Tokens.TokensClient(channel);
    }

    public string HttpUrl { get; }

    public Grpc.Admission.AdmissionClient Admission { get; }

    public Grpc.Tokens.TokensClient Tokens { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<PolicyTestHost> StartAsync(string redis, string gatewaydb, string? adminKey = AdminKey, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Development",
            ApplicationName = typeof(AdmissionService).Assembly.GetName().Name,
        });
        var httpUrl = $"http://127.0.0.1:{FreePort.Next()}";
        var grpcUrl = $"http://127.0.0.1:{FreePort.Next()}";
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis,
            ["ConnectionStrings:gatewaydb"] = gatewaydb,
            [AdminKeyOptions.ConfigurationKey] = adminKey,
            ["Kestrel:Endpoints:http:Url"] = httpUrl,
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
        app.MapGrpcService<AdmissionService>();
        app.MapGrpcService<TokensService>();
        await app.StartAsync(TestContext.Current.CancellationToken);

        return new PolicyTestHost(app, GrpcChannel.ForAddress(grpcUrl), httpUrl);
    }

    /// <summary>Creates a token with the admin key.</summary>
    public async Task<CreateTokenReply> CreateTokenAsync(string name, IEnumerable<string>? models = null, DateTimeOffset? expiresAt = null)
    {
        var request = new CreateTokenRequest { Name = name };
        request.Models.AddRange(models ?? []);
        if (expiresAt is { } expiry)
        {
            request.ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(expiry);
        }

        return await Tokens.CreateTokenAsync(request, AdminHeaders(), cancellationToken: TestContext.Current.CancellationToken);
    }

    public static global::Grpc.Core.Metadata AdminHeaders(string key = AdminKey) => new() { { "authorization", "Bearer " + key } };

    public async Task<AdmitReply> AdmitAsync(string token, string model = "") =>
        await Admission.AdmitAsync(new AdmitRequest { Token = token, Model = model, RequestId = "req-test" },
            cancellationToken: TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
