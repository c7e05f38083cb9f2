using Grpc.Net.ClientFactory;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers gRPC clients by service name, resolved through service discovery.</summary>
public static class GrpcServiceClientExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TClient"/> against the <c>grpc</c> endpoint of
    /// <paramref name="serviceName"/>: the address <c>http://_grpc.{serviceName}</c> resolves from
    /// <c>services__{serviceName}__grpc__0</c>, Aspire's convention for a named endpoint. The
    /// internal services serve gRPC over cleartext HTTP/2 on that endpoint and health, metrics over
    /// HTTP/1.1 on their <c>http</c> endpoint, because Kestrel cannot offer both on one cleartext port.
    /// </summary>
    public static IHttpClientBuilder AddGrpcServiceClient<TClient>(this IServiceCollection services, string serviceName)
        where TClient : class
    {
        var builder = services.AddGrpcClient<TClient>(options =>
            options.Address = new Uri($"http://_grpc.{serviceName}"));
        // One pooled channel per service (DESIGN: hot path), and no HTTP-level retries: a retried
        // gRPC call is the caller's decision, and the standard handler's timeouts do not fit streams.
        // gRPC never redirects and never goes through a proxy here: without AllowAutoRedirect the
        // handler skips its redirect stage (one async state machine per call, measured in docs/perf).
        builder.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        });
#pragma warning disable EXTEXP0001 // Experimental, but the supported way to opt one client out of the defaults.
        builder.RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        // HttpClientFactory's two logging handlers wrap every call (a log scope and start/stop
        // messages, both filtered out at the default levels but paid for): on the router that is
        // every Admit and Settle. gRPC logs calls itself (Grpc.Net.Client category).
        builder.RemoveAllLoggers();
        return builder;
    }
}
