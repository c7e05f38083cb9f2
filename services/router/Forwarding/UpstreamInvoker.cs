namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// The one pooled client for provider calls. An <see cref="HttpMessageInvoker"/> over a
/// <see cref="SocketsHttpHandler"/>, as YARP does, rather than the resilience-wrapped
/// <see cref="HttpClient"/> defaults: those buffer and retry whole requests, which breaks streaming
/// and double-bills; retries and fallback are the router's own decisions.
/// </summary>
internal sealed class UpstreamInvoker : IDisposable
{
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
            ConnectTimeout = TimeSpan.FromSeconds(15),
            EnableMultipleHttp2Connections = true,
        }, disposeHandler: true);
    }

    /// <summary>The shared invoker.</summary>
    public HttpMessageInvoker Invoker { get; }

    /// <inheritdoc />
    public void Dispose() => Invoker.Dispose();
}
