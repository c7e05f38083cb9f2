using System.Net.Http.Json;
using System.Text;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.Routing;

/// <summary>Raw HTTP calls to a routing replica, and what they answered.</summary>
internal static class RoutingTestClient
{
    public static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>A chat request for <paramref name="model"/> with its own request id.</summary>
    public static async Task<(HttpResponseMessage Response, string RequestId)> ChatAsync(
        HttpClient client, string? model, bool stream = false, IReadOnlyDictionary<string, string>? headers = null, string path = "/v1/chat/completions")
    {
        var requestId = "rt-" + Guid.NewGuid().ToString("N");
        var modelJson = model is null ? "" : $"\"model\":\"{model}\",";
        var body = path == "/v1/messages"
            ? $$"""{{{modelJson}}"max_tokens":100,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"tell me a story"}]}"""
            : $$"""{{{modelJson}}"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"tell me a story"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-request-id", requestId);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.Add(name, value);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        return (response, requestId);
    }

    /// <summary>Everything the response body delivered before it ended, cleanly or not.</summary>
    public static async Task<(string Text, bool Broken)> ReadAllAsync(HttpResponseMessage response)
    {
        var bytes = new MemoryStream();
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(Cancellation);
            await stream.CopyToAsync(bytes, Cancellation);
            return (Encoding.UTF8.GetString(bytes.ToArray()), false);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return (Encoding.UTF8.GetString(bytes.ToArray()), true);
        }
    }

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";

    /// <summary>GET an admin endpoint with the admin key.</summary>
    public static Task<T?> AdminAsync<T>(HttpClient client, string path)
    {
        client.DefaultRequestHeaders.Authorization = new("Bearer", TestPolicy.AdminKey);
        return client.GetFromJsonAsync<T>(path, RouterJsonContext.Web.Options, Cancellation);
    }
}
