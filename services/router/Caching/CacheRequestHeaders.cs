using System.Globalization;
using Gateway.Aspire.Router.Configuration;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Aspire.Router.Caching;

/// <summary>
/// What a request's headers ask of the response cache: <c>x-gateway-cache-ttl: &lt;seconds&gt;</c>
/// turns it on for this request, <c>Cache-Control: no-store</c> keeps it out entirely and
/// <c>no-cache</c> skips the lookup but stores the fresh answer (HTTP's meaning of both).
/// </summary>
/// <param name="Ttl">The TTL the request asked for, or null when it sent none.</param>
/// <param name="NoStore"><c>Cache-Control: no-store</c>: neither read nor write.</param>
/// <param name="NoCache"><c>Cache-Control: no-cache</c>: do not read, do write.</param>
internal readonly record struct CacheRequestHeaders(TimeSpan? Ttl, bool NoStore, bool NoCache)
{
    /// <summary>Request header turning the cache on with a TTL in seconds.</summary>
    public const string TtlHeader = "x-gateway-cache-ttl";

    /// <summary>Response header saying <c>HIT</c> or <c>MISS</c> whenever the cache applied.</summary>
    public const string StatusHeader = "x-gateway-cache";

    /// <summary>The error code of the 400 for a bad <see cref="TtlHeader"/>.</summary>
    public const string InvalidTtlCode = "invalid_cache_ttl";

    /// <summary>
    /// Longest TTL a request may ask for: 30 days. A client must not be able to pin entries for
    /// ever; operators who want longer set it per model.
    /// </summary>
    public static readonly TimeSpan MaxRequestTtl = TimeSpan.FromDays(30);

    /// <summary>
    /// Reads the headers; false with a message for a 400 (<see cref="InvalidTtlCode"/>) when
    /// <see cref="TtlHeader"/> is not a whole number of seconds from 1 to <see cref="MaxRequestTtl"/>.
    /// An unreadable <c>Cache-Control</c> is ignored, as HTTP caches do.
    /// </summary>
    public static bool TryParse(IHeaderDictionary headers, out CacheRequestHeaders parsed, out string error)
    {
        error = "";
        parsed = default;
        TimeSpan? ttl = null;
        if (headers.TryGetValue(TtlHeader, out var ttlValues))
        {
            var text = ttlValues.Count == 1 ? ttlValues[0]?.Trim() : null;
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds < 1 || seconds > MaxRequestTtl.TotalSeconds)
            {
                error = $"'{TtlHeader}' must be a whole number of seconds from 1 to {(long)MaxRequestTtl.TotalSeconds} (got '{Shorten(ttlValues.ToString())}'); "
                    + "to skip the cache send 'Cache-Control: no-store'.";
                return false;
            }

            ttl = TimeSpan.FromSeconds(seconds);
        }

        var noStore = false;
        var noCache = false;
        if (headers.TryGetValue(HeaderNames.CacheControl, out var cacheControl)
            && CacheControlHeaderValue.TryParse(new StringSegment(string.Join(',', cacheControl.ToArray())), out var directives))
        {
            noStore = directives.NoStore;
            noCache = directives.NoCache;
        }

        parsed = new CacheRequestHeaders(ttl, noStore, noCache);
        return true;
    }

    /// <summary>
    /// The plan for a request to a model: off unless the request sent a TTL or the model has a
    /// <c>cache</c> (the request's TTL wins), then narrowed by <c>no-store</c> / <c>no-cache</c>.
    /// </summary>
    public CachePlan Resolve(ModelCacheConfig? model)
    {
        if (NoStore || (Ttl is null && model is null))
        {
            return CachePlan.Off;
        }

        return new CachePlan(Read: !NoCache, Write: true, Ttl ?? model!.Ttl);
    }

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
