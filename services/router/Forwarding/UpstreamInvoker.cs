using System.Net.Sockets;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// The one pooled client for provider calls. An <see cref="HttpMessageInvoker"/> over a
/// <see cref="SocketsHttpHandler"/>, as YARP does, rather than the resilience-wrapped
/// <see cref="HttpClient"/> defaults: those buffer and retry whole requests, which breaks streaming
/// and double-bills; retries and fallback are the router's own decisions.
/// </summary>
internal sealed class UpstreamInvoker : IDisposable
{
    /// <summary>How long opening a connection may take when the request sets no <see cref="ConnectTimeout"/>.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A request option: the connect timeout of a model or load-balance target. It applies when this
    /// request opens a new connection (pooled connections are already open).
    /// </summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> ConnectTimeout = new("gateway.connect_timeout");

    /// <summary>Creates the pooled handler.</summary>
    public UpstreamInvoker()
    {
        Invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            // Re-resolve DNS now and then: providers move their endpoints.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // The handler's bound is the ceiling; ConnectAsync applies each request's own.
            ConnectTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = ConnectAsync,
            EnableMultipleHttp2Connections = true,
        }, disposeHandler: true);
    }

    /// <summary>The shared invoker.</summary>
    public HttpMessageInvoker Invoker { get; }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var timeout = context.InitialRequestMessage.Options.TryGetValue(ConnectTimeout, out var configured) ? configured : DefaultConnectTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, deadline.Token);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"Connecting to {context.DnsEndPoint.Host}:{context.DnsEndPoint.Port} took longer than {timeout.TotalSeconds:0.###} s.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => Invoker.Dispose();
}
