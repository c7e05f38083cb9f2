using System.Text;
using Gateway.Aspire.Router.Tests.Routing;

namespace Gateway.Aspire.Router.Tests.Caching;

/// <summary>Raw HTTP calls that exercise the response cache, and what they answered.</summary>
internal static class CacheCalls
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A chat body for <paramref name="model"/> asking <paramref name="question"/>; <paramref name="extra"/> is spliced in after the messages.</summary>
    public static string Body(string question, string extra = "", string model = "mock/gpt-4o-mini") =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{question}}"}]{{extra}}}""";

    /// <summary>A question no other test asks, so its first call is always a miss.</summary>
    public static string Unique(string prefix) => prefix + " " + Guid.NewGuid().ToString("N");

    /// <summary>POSTs <paramref name="body"/> and reads the whole answer (a broken stream's too, up to where it broke).</summary>
    public static async Task<(HttpResponseMessage Response, string Text)> PostAsync(HttpClient client, string body, string? ttl = null,
        string? cacheControl = null, string? requestId = null, string path = "/v1/chat/completions")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (ttl is not null)
        {
            request.Headers.Add("x-gateway-cache-ttl", ttl);
        }

        if (cacheControl is not null)
        {
            request.Headers.Add("Cache-Control", cacheControl);
        }

        if (requestId is not null)
        {
            request.Headers.Add("x-request-id", requestId);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        return (response, (await RoutingTestClient.ReadAllAsync(response)).Text);
    }

    /// <summary><c>x-gateway-cache</c> of <paramref name="response"/>, or null when the cache did not apply.</summary>
    public static string? CacheHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-gateway-cache", out var values) ? string.Join(",", values) : null;
}
