using System.ClientModel;
using System.Net;
using Gateway.Aspire.Router.Apis;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI;
using OpenAI.Chat;
using static Gateway.Aspire.Router.Tests.Routing.RoutingTestClient;

namespace Gateway.Aspire.Router.Tests.Routing;

/// <summary>
/// Virtual models end to end: two router replicas sharing Redis, the mock upstream injecting one
/// fault per target. Attempts are read from <c>x-gateway-attempts</c> and the ledger double.
/// </summary>
public sealed class RoutingEndToEndTests(RouterAppFixture app, RoutingAppFixture routing) : IClassFixture<RoutingAppFixture>, IAsyncLifetime
{
    public ValueTask InitializeAsync() => new(routing.StartAsync(app));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Retries_then_falls_back_in_priority_order_with_one_linked_ledger_row_per_attempt()
    {
        using var client = routing.Client();
        var (response, id) = await ChatAsync(client, "fb-chat");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // fb1: 500 and its one retry; fb2: 429 with Retry-After (cooling down, not retried); fb3 answers.
        Assert.Equal("fb1/m 500, fb1/m 500, fb2/m 429, fb3/m 200", Header(response, "x-gateway-attempts"));
        Assert.Equal("fb3/m", Header(response, "x-gateway-model"));
        var rows = new[] { id, id + "-a2", id + "-a3", id + "-a4" };
        var records = await Task.WhenAll(rows.Select(app.Ledger.WaitForAsync));
        Assert.Equal(["fb1/m", "fb1/m", "fb2/m", "fb3/m"], records.Select(r => r.ServedModel));
        Assert.Equal([502, 502, 429, 200], records.Select(r => r.StatusCode));
        Assert.Equal(["", id, id, id], records.Select(r => r.ParentRequestId));
        Assert.All(records, r => Assert.Equal("fb-chat", r.RequestedModel));

        // Next request: fb1's third failure opens its circuit (threshold 3), so no retry; fb2 is still
        // in its Retry-After cool-down and skipped; fb3 answers.
        var (second, _) = await ChatAsync(client, "fb-chat");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("fb1/m 500, fb3/m 200", Header(second, "x-gateway-attempts"));

        var targets = await AdminAsync<TargetsResponse>(routing.Client(token: null), "/admin/v1/targets");
        var fb1 = Assert.Single(targets!.Data, t => t.Target == "fb1/m");
        Assert.Equal(("open", false, 3L), (fb1.CircuitState, fb1.Available, fb1.Failures));
        var fb2 = Assert.Single(targets.Data, t => t.Target == "fb2/m");
        Assert.NotNull(fb2.CoolingDownUntil);
        Assert.False(fb2.Available);
    }

    [Fact]
    public async Task A_status_outside_fallback_status_codes_goes_straight_to_the_client()
    {
        using var client = routing.Client();
        var (response, id) = await ChatAsync(client, "rej-chat");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("rej1/m 400", Header(response, "x-gateway-attempts"));
        Assert.Equal(400, (await app.Ledger.WaitForAsync(id)).StatusCode);
        Assert.False(app.Ledger.TryGet(id + "-a2", out _));
    }

    [Fact]
    public async Task Circuit_opens_after_the_threshold_and_the_target_is_skipped()
    {
        using var client = routing.Client();
        for (var i = 0; i < RoutingAppFixture.CircuitThreshold; i++)
        {
            var (response, _) = await ChatAsync(client, "cb-chat");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("cb1/m 503, cb2/m 200", Header(response, "x-gateway-attempts"));
        }

        var (skipped, _) = await ChatAsync(client, "cb-chat");
        Assert.Equal("cb2/m 200", Header(skipped, "x-gateway-attempts"));

        // The other replica has its own breaker (per process) and still tries cb1.
        var (other, _) = await ChatAsync(routing.Client(replicaB: true), "cb-chat");
        Assert.Equal("cb1/m 503, cb2/m 200", Header(other, "x-gateway-attempts"));
    }

    [Fact]
    public async Task Unreachable_reset_and_timed_out_targets_fall_back_in_order()
    {
        using var client = routing.Client();
        var (response, id) = await ChatAsync(client, "net-chat");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("netdown/m 502, netreset/m 502, netslow/m 504, netok/m 200", Header(response, "x-gateway-attempts"));
        Assert.Equal("upstream_error", (await app.Ledger.WaitForAsync(id + "-a3")).ErrorType);
    }

    [Fact]
    public async Task Retries_on_the_same_target_until_it_answers()
    {
        using var client = routing.Client();
        var (response, id) = await ChatAsync(client, "retry-chat");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("retry1/m 502, retry1/m 502, retry1/m 200", Header(response, "x-gateway-attempts"));
        Assert.Equal(200, (await app.Ledger.WaitForAsync(id + "-a3")).StatusCode);
    }

    [Theory]
    [InlineData("ms-reset", "upstream_stream_broken")]
    [InlineData("ms-truncate", "upstream_stream_truncated")]
    [InlineData("ms-stall", "upstream_timeout")]
    public async Task A_stream_that_fails_after_the_first_byte_ends_with_an_openai_error_event_and_no_fallback(string model, string code)
    {
        using var client = routing.Client();
        var (response, id) = await ChatAsync(client, model, stream: true);
        var (text, _) = await ReadAllAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"delta\"", text);
        // The error event is the last thing in the stream.
        Assert.StartsWith("data: {\"error\":{\"message\":", text.TrimEnd().Split("\n\n")[^1]);
        Assert.Contains($"\"code\":\"{code}\"", text);
        Assert.DoesNotContain("[DONE]", text);
        Assert.Single(Header(response, "x-gateway-attempts").Split(", "));
        var record = await app.Ledger.WaitForAsync(id);
        Assert.Equal(code, record.ErrorType);
        Assert.False(app.Ledger.TryGet(id + "-a2", out _));
    }

    [Fact]
    public async Task The_openai_sdk_raises_on_a_broken_stream()
    {
        var chat = new ChatClient("ms-truncate", new ApiKeyCredential(TestPolicy.GoodToken), new OpenAIClientOptions
        {
            Endpoint = new Uri(new Uri(routing.RouterA.Urls.First()), "/v1"),
            RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0),
        });
        var received = new System.Text.StringBuilder();

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("tell me a story")], cancellationToken: Cancellation))
            {
                foreach (var part in update.ContentUpdate)
                {
                    received.Append(part.Text);
                }
            }
        });
        Assert.NotEqual("", received.ToString());
    }

    [Theory]
    [InlineData("ms-truncate", "without its final event")]
    [InlineData("ms-malformed", "not valid JSON")]
    public async Task Anthropic_clients_get_an_error_event_in_their_format(string model, string says)
    {
        using var client = routing.Client();
        var (response, _) = await ChatAsync(client, model, stream: true, path: "/v1/messages");
        var (text, _) = await ReadAllAsync(response);

        Assert.Contains("event: message_start", text);
        Assert.Contains("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"", text);
        Assert.DoesNotContain("message_stop", text);
        Assert.Contains(says, text.TrimEnd().Split("\n\n")[^1]);
    }

    [Fact]
    public async Task The_anthropic_sdk_raises_on_a_broken_stream()
    {
        var sdk = new Anthropic.AnthropicClient(new Anthropic.Core.ClientOptions
        {
            BaseUrl = new Uri(routing.RouterA.Urls.First()).GetLeftPart(UriPartial.Authority),
            ApiKey = TestPolicy.GoodToken,
            MaxRetries = 0,
        });
        var parameters = new Anthropic.Models.Messages.MessageCreateParams
        {
            Model = "ms-reset",
            MaxTokens = 100,
            Messages = [new Anthropic.Models.Messages.UserMessageParam { Content = "tell me a story" }],
        };
        var events = 0;

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in sdk.Messages.CreateStreaming(parameters, Cancellation))
            {
                events++;
            }
        });
        Assert.True(events > 0);
    }

    [Fact]
    public async Task Weighted_targets_split_exactly_by_weight()
    {
        using var client = routing.Client();
        var served = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var (response, _) = await ChatAsync(client, "w-chat");
            served.Add(Header(response, "x-gateway-model"));
        }

        Assert.Equal(70, served.Count(s => s == "w1/m"));
        Assert.Equal(20, served.Count(s => s == "w2/m"));
        Assert.Equal(10, served.Count(s => s == "w3/m"));
    }

    [Fact]
    public async Task Latency_routing_probes_each_target_then_follows_the_fastest_on_every_replica()
    {
        using var client = routing.Client();
        var served = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var (response, _) = await ChatAsync(client, "lat-chat");
            served.Add(Header(response, "x-gateway-model"));
        }

        // Three probes each (fewest samples first, the faster on a tie), then only the fastest.
        Assert.Equal(["latslow/m", "latfast/m", "latfast/m", "latslow/m", "latfast/m", "latslow/m"], served.Take(6));
        Assert.All(served.Skip(6), s => Assert.Equal("latfast/m", s));

        // Replica B has made no request: it reads A's samples from Redis and skips probing.
        var (fromB, _) = await ChatAsync(routing.Client(replicaB: true), "lat-chat");
        Assert.Equal("latfast/m", Header(fromB, "x-gateway-model"));
    }

    [Fact]
    public async Task A_sticky_session_keeps_its_target_across_replicas()
    {
        var a = routing.Client();
        var b = routing.Client(replicaB: true);
        var session = new Dictionary<string, string> { ["x-session-id"] = "session-" + Guid.NewGuid().ToString("N") };
        var (first, _) = await ChatAsync(a, "sticky-chat", headers: session);
        var target = Header(first, "x-gateway-model");

        for (var i = 0; i < 6; i++)
        {
            var (response, _) = await ChatAsync(i % 2 == 0 ? b : a, "sticky-chat", headers: session);
            Assert.Equal(target, Header(response, "x-gateway-model"));
        }

        // Without a session the 1:1 weights alternate, so the agreement above is the binding at work.
        var (x, _) = await ChatAsync(a, "sticky-chat");
        var (y, _) = await ChatAsync(a, "sticky-chat");
        Assert.NotEqual(Header(x, "x-gateway-model"), Header(y, "x-gateway-model"));
    }

    [Fact]
    public async Task A_task_in_metadata_supplies_the_model()
    {
        using var client = routing.Client();
        var (response, id) = await ChatAsync(client, model: null, headers: new Dictionary<string, string> { ["x-gateway-metadata"] = """{"task":"self_reflection"}""" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("task/m", Header(response, "x-gateway-model"));
        Assert.Equal("reflection", (await app.Ledger.WaitForAsync(id)).RequestedModel);

        var (noTask, _) = await ChatAsync(client, model: null);
        Assert.Equal(HttpStatusCode.BadRequest, noTask.StatusCode);
    }

    [Fact]
    public async Task Virtual_models_are_listed_and_unknown_callers_of_a_subject_rule_get_404()
    {
        using var client = routing.Client();
        var models = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<ModelListResponse>(client, "/v1/models", RouterJsonContext.Web.Options, Cancellation);

        Assert.Contains(models!.Data, m => m.Id == "fb-chat" && m.OwnedBy == "gateway");
        Assert.Contains(models.Data, m => m.Id == "reflection");
        Assert.Contains(models.Data, m => m.Id == "mock/gpt-4o-mini");
    }

    [Fact]
    public async Task Admin_views_need_the_admin_key_and_summarise_requests()
    {
        using var client = routing.Client();
        await ChatAsync(client, "w-chat");

        var anonymous = await routing.Client(token: "gw-good").GetAsync("/admin/v1/metrics/summary", Cancellation);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        var summary = await AdminAsync<MetricsSummary>(routing.Client(token: null), "/admin/v1/metrics/summary");
        Assert.True(summary!.TotalRequests >= 1);
        Assert.Equal((0L, 0.0), (summary.CacheHits, summary.CacheHitRatePercent));
        Assert.True(summary.ProvidersActive > 0);

        // The per-target instruments reach the Prometheus scrape that ServiceDefaults serves.
        var scrape = await client.GetStringAsync("/metrics", Cancellation);
        Assert.Contains("gateway_router_target_attempts", scrape);
        Assert.Contains("gateway_router_target_circuit_state", scrape);
        Assert.Contains("target=\"w1/m\"", scrape);
    }
}
