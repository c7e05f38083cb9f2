using System.Text;
using System.Text.Json;

namespace Gateway.Aspire.Router.Tests.TestHosts;

/// <summary>Talks to the mock upstream over loopback HTTP and reads its answers: JSON bodies and server-sent events.</summary>
internal static class MockHttp
{
    private static readonly HttpClient s_client = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>POSTs <paramref name="body"/> as JSON to <paramref name="path"/> of the mock, with <paramref name="headers"/>.</summary>
    public static Task<HttpResponseMessage> PostAsync(Uri mock, string path, string body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(mock, path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return s_client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>The response body as JSON.</summary>
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;

    /// <summary>
    /// The response body as server-sent events (blank-line separated, LF or CRLF): each event's
    /// <c>event:</c> name (null when absent) and its <c>data:</c> text.
    /// </summary>
    public static async Task<List<(string? Name, string Data)>> EventsAsync(this HttpResponseMessage response)
    {
        var text = (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Replace("\r\n", "\n", StringComparison.Ordinal);
        var events = new List<(string? Name, string Data)>();
        foreach (var block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = "";
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line["data: ".Length..];
                }
            }

            events.Add((name, data));
        }

        return events;
    }

    /// <summary>The JSON data of each event, leaving out OpenAI's closing <c>[DONE]</c>.</summary>
    public static async Task<List<JsonElement>> EventDataAsync(this HttpResponseMessage response) =>
        [.. (await response.EventsAsync()).Where(e => e.Data != "[DONE]").Select(e => JsonDocument.Parse(e.Data).RootElement)];
}
