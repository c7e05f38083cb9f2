using System.Reflection;
using Gateway.Aspire.Hosting.Servers;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.Testing;

/// <summary>
/// An internal service composed as its Program.cs does (<c>AddServiceDefaults</c>, the service's
/// own registrations, <c>MapDefaultEndpoints</c>, its gRPC services), hosted in-process on Kestrel
/// with the AppHost's endpoint layout — HTTP/1.1 <c>http</c>, cleartext HTTP/2 <c>grpc</c> — on
/// free loopback ports, and reached over real gRPC.
/// </summary>
public sealed class GrpcServiceTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcServiceTestHost(WebApplication app, string httpUrl, string grpcUrl)
    {
        _app = app;
        HttpUrl = httpUrl;
        GrpcUrl = grpcUrl;
        Channel = GrpcChannel.ForAddress(grpcUrl);
    }

    /// <summary>The <c>http</c> endpoint (health, metrics).</summary>
    public string HttpUrl { get; }

    /// <summary>The <c>grpc</c> endpoint (cleartext HTTP/2), for clients other than <see cref="Channel"/>.</summary>
    public string GrpcUrl { get; }

    /// <summary>A channel to the <c>grpc</c> endpoint.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>The service's container.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Builds and starts the service.</summary>
    /// <param name="serviceAssembly">The service's assembly (its application name).</param>
    /// <param name="configuration">Settings such as connection strings.</param>
    /// <param name="addServices">The service's registrations (its <c>AddApplicationServices</c>, test overrides).</param>
    /// <param name="map">The service's endpoints (<c>MapGrpcService&lt;T&gt;</c>).</param>
    public static async Task<GrpcServiceTestHost> StartAsync(
        Assembly serviceAssembly,
        IReadOnlyDictionary<string, string?> configuration,
        Action<WebApplicationBuilder> addServices,
        Action<WebApplication> map)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Development",
            ApplicationName = serviceAssembly.GetName().Name,
        });
        var httpUrl = $"http://127.0.0.1:{FreePort.Next()}";
        var grpcUrl = $"http://127.0.0.1:{FreePort.Next()}";
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(configuration)
        {
            ["Kestrel:Endpoints:http:Url"] = httpUrl,
            ["Kestrel:Endpoints:grpc:Url"] = grpcUrl,
            ["Kestrel:Endpoints:grpc:Protocols"] = "Http2",
        });
        builder.Logging.ClearProviders();

        builder.AddServiceDefaults();
        addServices(builder);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        map(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new GrpcServiceTestHost(app, httpUrl, grpcUrl);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
