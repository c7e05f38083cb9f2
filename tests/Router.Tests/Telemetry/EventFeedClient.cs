using System.Text.Json;

namespace Gateway.Aspire.Router.Tests.Telemetry;

/// <summary>A dashboard's view of <c>GET /admin/v1/events</c>: opens the feed, waits until it is live, reads events.</summary>
internal sealed class EventFeedClient : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private EventFeedClient(HttpResponseMessage response, StreamReader reader) => (_response, _reader) = (response, reader);

    /// <summary>The <c>event:</c> names read so far, in order.</summary>
    public List<string> Names { get; } = [];

    /// <summary>Opens the feed and returns once its <c>: connected</c> comment arrived (from then on nothing is missed).</summary>
    public static async Task<EventFeedClient> OpenAsync(HttpClient client, string query = "")
    {
        var response = await client.GetAsync("/admin/v1/events" + query, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        var feed = new EventFeedClient(response, reader);
        Assert.Equal(": connected", await feed.ReadLineAsync());
        return feed;
    }

    /// <summary>Reads events (their JSON) until one satisfies <paramref name="last"/>; fails after 10 s.</summary>
    public async Task<List<JsonElement>> ReadUntilAsync(Func<JsonElement, bool> last)
    {
        var events = new List<JsonElement>();
        while (true)
        {
            var line = await ReadLineAsync() ?? throw new EndOfStreamException("The feed ended.");
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                Names.Add(line["event: ".Length..]);
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var json = JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone();
                events.Add(json);
                if (last(json))
                {
                    return events;
                }
            }
        }
    }

    private async Task<string?> ReadLineAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        return await _reader.ReadLineAsync(timeout.Token);
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
