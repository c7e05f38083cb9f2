using Gateway.Aspire.Router.Forwarding;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Aspire.Router.Caching;

/// <summary>Replays a cached answer to the client the way the live one was sent.</summary>
internal static class CachedResponseWriter
{
    /// <summary>
    /// Writes <paramref name="hit"/> with <c>x-gateway-cache: HIT</c> and the model and provider
    /// that produced it: a JSON answer in one write, a stream event by event with a flush after
    /// each, as a live stream arrives (clients and proxies see the same framing), then completes
    /// the response.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, CachedResponse hit, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.StatusCode = hit.StatusCode;
        response.ContentType = hit.ContentType;
        response.Headers[CacheRequestHeaders.StatusHeader] = "HIT";
        response.Headers["x-gateway-model"] = hit.ServedModel;
        response.Headers["x-gateway-provider"] = hit.Provider;
        if (!hit.IsEventStream)
        {
            response.ContentLength = hit.Body.Length;
            await response.Body.WriteAsync(hit.Body, cancellationToken);
            await response.CompleteAsync();
            return;
        }

        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var output = response.BodyWriter;
        var rest = hit.Body;
        while (!rest.IsEmpty)
        {
            var end = SseUsageRelay.FindEventEnd(rest.Span, 0);
            var length = end < 0 ? rest.Length : end; // a last event without its blank line, as relayed
            var flush = await output.WriteAsync(rest[..length], cancellationToken);
            if (flush.IsCanceled || flush.IsCompleted)
            {
                throw new OperationCanceledException(cancellationToken); // the client went away
            }

            rest = rest[length..];
        }

        await response.CompleteAsync();
    }
}
