using Gateway.Aspire.ServiceDefaults.Grpc;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers gRPC clients by service name, on one channel per service (<see cref="GrpcServiceChannels"/>).</summary>
public static class GrpcServiceClientExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TClient"/> as a singleton built by <paramref name="create"/> on the
    /// channel to the <c>grpc</c> endpoint of <paramref name="serviceName"/>, whose address comes from
    /// <c>services__{serviceName}__grpc__0</c> through service discovery. The internal services serve
    /// gRPC over cleartext HTTP/2 on that endpoint and health, metrics over HTTP/1.1 on their
    /// <c>http</c> endpoint, because Kestrel cannot offer both on one cleartext port.
    /// </summary>
    /// <remarks>
    /// Generated gRPC clients are immutable and safe to share, so one instance serves every caller
    /// (the factory built one per resolution). Needs <c>AddServiceDiscovery()</c> (part of
    /// <c>AddServiceDefaults()</c>).
    /// </remarks>
    public static IServiceCollection AddGrpcServiceClient<TClient>(this IServiceCollection services, string serviceName, Func<GrpcChannel, TClient> create)
        where TClient : class
    {
        services.TryAddSingleton<GrpcServiceChannels>();
        services.AddSingleton(sp => create(sp.GetRequiredService<GrpcServiceChannels>().Get(serviceName)));
        return services;
    }
}
