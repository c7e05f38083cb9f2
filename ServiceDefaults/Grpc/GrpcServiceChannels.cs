using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ServiceDiscovery;

namespace Gateway.Aspire.ServiceDefaults.Grpc;

/// <summary>
/// One <see cref="GrpcChannel"/> per internal service, its address resolved once through service
/// discovery (<c>services__{service}__grpc__0</c>, Aspire's convention for a named endpoint) when the
/// first client of that service is created, then every call made straight over that channel.
/// </summary>
/// <remarks>
/// <para>
/// Why not <c>AddGrpcClient</c> (HttpClientFactory): there every call ran through a handler chain
/// built for general HTTP clients: service discovery resolving the address again (a
/// <see cref="UriBuilder"/> and strings per call), the factory's handler wrapper, and whatever
/// <c>ConfigureHttpClientDefaults</c> adds. On the router that chain and the channel plumbing under it
/// were about three quarters of its allocations per request (docs/perf/README.md, "Where the router's
/// allocations go"); the internal addresses do not change while the process runs (Aspire and Azure
/// Container Apps give each service one stable name), so resolving them per call buys nothing.
/// </para>
/// <para>
/// What the factory gave that is kept: HTTP/2 multiplexing on pooled connections, a second
/// connection when one reaches the server's stream limit, keep-alive pings, and — new — connections
/// recycled every <see cref="ConnectionLifetime"/> so a name that moves to another address (a
/// redeployed container) is looked up again; the factory's primary handler here never recycled.
/// What is deliberately absent: HTTP-level retries and timeouts (a retried gRPC call is the caller's
/// decision, and callers set deadlines: <c>PolicyTimeout</c>, <c>GuardrailsTimeout</c>, the shippers'
/// 30 s), redirects and proxies (gRPC uses neither).
/// </para>
/// </remarks>
public sealed class GrpcServiceChannels(ServiceEndpointResolver resolver, ILoggerFactory loggerFactory) : IDisposable
{
    /// <summary>
    /// How long one HTTP/2 connection serves calls before a new one replaces it (a fresh DNS lookup of
    /// the resolved host). Five minutes: a handshake every five minutes costs nothing measurable, and
    /// HttpClientFactory's own default rotation (two minutes) is of the same order.
    /// </summary>
    public static readonly TimeSpan ConnectionLifetime = TimeSpan.FromMinutes(5);

    private readonly Dictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggerFactory.CreateLogger<GrpcServiceChannels>();
    private bool _disposed;

    /// <summary>
    /// The channel to <paramref name="serviceName"/>'s <c>grpc</c> endpoint, created (and its address
    /// resolved) on first use.
    /// </summary>
    /// <exception cref="InvalidOperationException">Service discovery knows no endpoint for the service.</exception>
    public GrpcChannel Get(string serviceName)
    {
        // Taken once per client type at start (clients are singletons), never per call.
        lock (_channels)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_channels.TryGetValue(serviceName, out var channel))
            {
                channel = Create(serviceName);
                _channels.Add(serviceName, channel);
            }

            return channel;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_channels)
        {
            _disposed = true;
            foreach (var channel in _channels.Values)
            {
                channel.Dispose();
            }

            _channels.Clear();
        }
    }

    /// <summary>The handler every channel runs on; public so a benchmark can build the same channel.</summary>
    public static SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            EnableMultipleHttp2Connections = true,
            PooledConnectionLifetime = ConnectionLifetime,
            // Pings keep an idle connection open through proxies and notice a dead peer before the next call.
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
        };
        // The channel has one address, so gRPC's client-side balancing has nothing to choose: this key
        // (the one Aspire's service discovery sets, grpc/grpc-dotnet#2312) leaves connecting to the
        // handler instead of gRPC's own socket transport, which would poll every connection's socket
        // every 5 s and take over ConnectCallback.
        handler.Properties["__GrpcLoadBalancingDisabled"] = true;
        return handler;
    }

    /// <summary>Resolves the address once and builds the channel.</summary>
    private GrpcChannel Create(string serviceName)
    {
        var logical = $"http://_grpc.{serviceName}";
        // Once per service at start; the resolver never captures a synchronisation context
        // (ConfigureAwait(false) throughout), so waiting here cannot deadlock.
        var source = resolver.GetEndpointsAsync(logical, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        if (source.Endpoints.Count == 0)
        {
            throw new InvalidOperationException(
                $"No endpoint for the gRPC service '{serviceName}': set services__{serviceName}__grpc__0 (AppHost sets it).");
        }

        if (source.Endpoints.Count > 1)
        {
            GrpcChannelsLog.SeveralEndpoints(_logger, serviceName, source.Endpoints.Count);
        }

        var address = Address(source.Endpoints[0].EndPoint, serviceName);
        GrpcChannelsLog.ChannelCreated(_logger, serviceName, address);
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(),
            DisposeHttpClient = true,
            // gRPC's own call logs (and, with tracing on, its activities) as under the factory.
            LoggerFactory = loggerFactory,
        });
    }

    /// <summary>The channel address of a resolved endpoint (as service discovery's HTTP handler maps it).</summary>
    internal static Uri Address(System.Net.EndPoint endpoint, string serviceName) => endpoint switch
    {
        UriEndPoint { Uri: var uri } => new Uri(uri.GetLeftPart(UriPartial.Authority)),
        System.Net.DnsEndPoint dns => new UriBuilder(Uri.UriSchemeHttp, dns.Host, dns.Port > 0 ? dns.Port : -1).Uri,
        System.Net.IPEndPoint ip => new UriBuilder(Uri.UriSchemeHttp, ip.Address.ToString(), ip.Port).Uri,
        _ => throw new InvalidOperationException($"The gRPC service '{serviceName}' resolved to an unsupported endpoint {endpoint}."),
    };
}
