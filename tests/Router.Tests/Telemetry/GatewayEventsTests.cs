using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.Providers.EndToEnd;
using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.ServiceDefaults.Events;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Tests.Telemetry;

/// <summary>
/// Gateway events of real calls: published by the router to its real Redis (stream and channel) and
/// read back from <c>gateway.events</c> and from the live feed <c>GET /admin/v1/events</c>.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class GatewayEventsTests(RouterAppFixture app, TelemetryAppFixture telemetry) : IAsyncLifetime
{
    public ValueTask InitializeAsync() => new(telemetry.StartAsync(app));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static string Chat(string question, bool stream) =>
        $$"""{"model":"{{TelemetryAppFixture.Model}}","messages":[{"role":"user","content":"{{question}}"}]{{(stream ? ",\"stream\":true" : "")}}}""";

    [Fact]
    public async Task A_streamed_chat_calls_events_reach_the_feed_and_the_stream_in_order_with_their_fields()
    {
        using var admin = telemetry.Client(TestPolicy.AdminKey);
        await using var feed = await EventFeedClient.OpenAsync(admin);
        var requestId = GatewayClients.NewRequestId("events");
        using var client = telemetry.Client(TestPolicy.TeamMemberToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = GatewayClients.Json(Chat("Hello events", stream: true)) };
        request.Headers.Add("x-request-id", requestId);
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        var live = (await feed.ReadUntilAsync(e => Is(e, GatewayEventTypes.RequestComplete, requestId))).Where(e => e.GetProperty("request_id").GetString() == requestId).ToList();

        Assert.Equal([GatewayEventTypes.RequestStart, GatewayEventTypes.StreamingStart, GatewayEventTypes.RequestComplete], live.Select(e => e.GetProperty("type").GetString()));
        var (start, first, complete) = (live[0], live[1], live[2]);
        foreach (var e in live)
        {
            Assert.Equal(TelemetryAppFixture.Model, e.GetProperty("model").GetString());
            Assert.True(Guid.TryParse(e.GetProperty("id").GetString(), out _));
            Assert.InRange(e.GetProperty("time").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        }

        Assert.Equal(("ada", "team-a", "", true), (start.GetProperty("user").GetString(), start.GetProperty("team").GetString(), start.GetProperty("virtual_account").GetString(), start.GetProperty("stream").GetBoolean()));
        Assert.Equal(TelemetryAppFixture.Model, first.GetProperty("served_model").GetString());
        Assert.True(first.GetProperty("ttft_ms").GetDouble() > 0);
        var prompt = GatewayClients.MockPromptTokens("Hello events");
        var completion = GatewayClients.Words(GatewayClients.MockAnswer("Hello events"));
        Assert.Equal((200, "", prompt, completion, false), (complete.GetProperty("status").GetInt32(), complete.GetProperty("error_type").GetString(),
            complete.GetProperty("prompt_tokens").GetInt32(), complete.GetProperty("completion_tokens").GetInt32(), complete.GetProperty("cached").GetBoolean()));
        Assert.Equal((TelemetryAppFixture.Model, "openai-compatible", "ada", "team-a"), (complete.GetProperty("served_model").GetString(),
            complete.GetProperty("provider").GetString(), complete.GetProperty("user").GetString(), complete.GetProperty("team").GetString()));
        // 0.15 and 0.60 USD per million tokens, as the ledger prices it.
        Assert.Equal((prompt * 0.15m + completion * 0.60m) / 1_000_000m, complete.GetProperty("cost_usd").GetDecimal());
        Assert.True(complete.GetProperty("latency_ms").GetDouble() >= first.GetProperty("ttft_ms").GetDouble());

        // The capped stream holds the same events, in the same order.
        var stored = await StreamedAsync(requestId, 3);
        Assert.Equal(live.Select(e => e.GetRawText()), stored);
    }

    [Fact]
    public async Task A_json_call_has_no_streaming_event_and_the_types_filter_keeps_only_what_was_asked()
    {
        using var admin = telemetry.Client(TestPolicy.AdminKey);
        await using var completes = await EventFeedClient.OpenAsync(admin, "?types=model.request.complete");
        await using var all = await EventFeedClient.OpenAsync(admin);
        var requestId = GatewayClients.NewRequestId("json");
        using var client = telemetry.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = GatewayClients.Json(Chat("Hello json", stream: false)) };
        request.Headers.Add("x-request-id", requestId);
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var everything = (await all.ReadUntilAsync(e => Is(e, GatewayEventTypes.RequestComplete, requestId))).Where(e => e.GetProperty("request_id").GetString() == requestId);
        var filtered = await completes.ReadUntilAsync(e => Is(e, GatewayEventTypes.RequestComplete, requestId));

        Assert.Equal([GatewayEventTypes.RequestStart, GatewayEventTypes.RequestComplete], everything.Select(e => e.GetProperty("type").GetString()));
        Assert.All(filtered, e => Assert.Equal(GatewayEventTypes.RequestComplete, e.GetProperty("type").GetString()));
        Assert.All(completes.Names, name => Assert.Equal(GatewayEventTypes.RequestComplete, name));
        Assert.Equal("good", filtered[^1].GetProperty("virtual_account").GetString());
    }

    [Fact]
    public async Task A_team_admin_sees_only_their_teams_events()
    {
        using var teamAdmin = telemetry.Client(TestPolicy.TeamAdminKey);
        await using var feed = await EventFeedClient.OpenAsync(teamAdmin, "?types=model.request.complete");
        var (otherTeam, ownTeam) = (GatewayClients.NewRequestId("other"), GatewayClients.NewRequestId("own"));
        foreach (var (token, requestId) in new[] { (TestPolicy.GoodToken, otherTeam), (TestPolicy.TeamMemberToken, ownTeam) })
        {
            using var client = telemetry.Client(token);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = GatewayClients.Json(Chat("Team view", stream: false)) };
            request.Headers.Add("x-request-id", requestId);
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var seen = await feed.ReadUntilAsync(e => Is(e, GatewayEventTypes.RequestComplete, ownTeam));

        Assert.All(seen, e => Assert.Equal("team-a", e.GetProperty("team").GetString()));
        Assert.DoesNotContain(seen, e => e.GetProperty("request_id").GetString() == otherTeam);
    }

    [Fact]
    public async Task The_feed_needs_an_admin_credential_and_known_types()
    {
        using var member = telemetry.Client(TestPolicy.TeamMemberToken);
        using var anonymous = telemetry.Client(token: null);
        using var admin = telemetry.Client(TestPolicy.AdminKey);
        var ct = TestContext.Current.CancellationToken;

        using var forbidden = await member.GetAsync("/admin/v1/events", ct);
        using var unauthorized = await anonymous.GetAsync("/admin/v1/events", ct);
        using var badType = await admin.GetAsync("/admin/v1/events?types=model.request.start,model.nope", ct);

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal("admin_required", (await forbidden.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badType.StatusCode);
        Assert.Contains("model.nope", await badType.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }

    private static bool Is(JsonElement e, string type, string requestId) =>
        e.GetProperty("type").GetString() == type && e.GetProperty("request_id").GetString() == requestId;

    /// <summary>The JSON of <paramref name="requestId"/>'s events in <c>gateway.events</c>, once <paramref name="count"/> are there.</summary>
    private async Task<List<string>> StreamedAsync(string requestId, int count)
    {
        for (var i = 0; ; i++)
        {
            var entries = await telemetry.Redis.GetDatabase().StreamRangeAsync(GatewayEventChannel.Stream);
            var mine = entries.Select(e => (string)e["event"]!).Where(json => json.Contains(requestId, StringComparison.Ordinal)).ToList();
            if (mine.Count >= count || i == 100)
            {
                return mine;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
