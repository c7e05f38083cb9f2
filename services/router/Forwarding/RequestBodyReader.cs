using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>Reads a request body into a pooled buffer, up to a limit.</summary>
internal static class RequestBodyReader
{
    /// <summary>The body, or null when it exceeds <paramref name="limit"/> bytes (the caller answers 413).</summary>
    public static async ValueTask<PooledBuffer?> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        // Kestrel's own limit (30 MB) would otherwise cap a larger configured one, or answer first.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit + 1;
        }

        var buffer = new PooledBuffer((int)Math.Min(request.ContentLength ?? 16 * 1024, limit) + 1);
        try
        {
            while (true)
            {
                buffer.EnsureFree(4096);
                var read = await request.Body.ReadAsync(buffer.Array.AsMemory(buffer.Length), cancellationToken);
                if (read == 0)
                {
                    return buffer;
                }

                buffer.Length += read;
                if (buffer.Length > limit)
                {
                    buffer.Dispose();
                    return null;
                }
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }
}
