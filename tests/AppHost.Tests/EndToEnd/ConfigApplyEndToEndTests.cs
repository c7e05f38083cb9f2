using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.AppHost.Tests.EndToEnd;

/// <summary>
/// Configuration manifests through the router's admin API, end to end (router → guardrails and
/// policy → PostgreSQL and Redis, all real): apply, dry run, rejection of invalid documents,
/// removal, history, and publication to the live-configuration hash and channel. Tests share the
/// app, so each works on document names of its own and compares versions before and after.
/// </summary>
public sealed class ConfigApplyEndToEndTests(ConfigApplyEndToEndTests.ConfigAppFixture app) : IClassFixture<ConfigApplyEndToEndTests.ConfigAppFixture>
{
    /// <summary>The app with a rate-limit document in its file, which applies may replace.</summary>
    public sealed class ConfigAppFixture : GatewayAppFixture
    {
        /// <inheritdoc />
        protected override IEnumerable<string> AdditionalDocuments =>
        [
            """
            type: gateway-rate-limiting-config
            name: file-limits
            rules:
              - id: file-chat
                when: { models: [mock/gpt-4o-mini] }
                limit_to: 1000
                unit: requests_per_minute
            """,
        ];
    }

    private const string LiveKey = "gateway:config:live";
    private const string LiveChannel = "gateway:config:changed";

    private static readonly HttpClient s_http = new();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Apply_stores_a_new_version_lists_it_in_the_history_and_publishes_it()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.App.GetConnectionString("redis"));
        var announced = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(LiveChannel));
        var before = await VersionAsync();

        var (status, json) = await SendAsync(HttpMethod.Post, "/admin/v1/apply", """
            type: gateway-budget-config
            name: apply-budgets
            rules:
              - id: apply-daily
                when: { models: [mock/gpt-4o-mini] }
                limit_to: 25
                unit: cost_per_day
            ---
            type: gateway-rate-limiting-config
            name: apply-limits
            rules:
              - id: apply-tokens
                limit_to: 100000
                unit: tokens_per_minute
            """);

        Assert.Equal(HttpStatusCode.OK, status);
        var version = json.GetProperty("version").GetInt64();
        Assert.Equal(before + 1, version);
        Assert.True(json.GetProperty("changed").GetBoolean());
        Assert.False(json.GetProperty("dry_run").GetBoolean());
        Assert.Equal(
            ["gateway-budget-config/apply-budgets added", "gateway-rate-limiting-config/apply-limits added"],
            json.GetProperty("documents").EnumerateArray().Select(d => $"{d.GetProperty("type")}/{d.GetProperty("name")} {d.GetProperty("change")}").Order());
        Assert.Contains("+ gateway-budget-config 'apply-budgets' (added", json.GetProperty("diff").GetString(), StringComparison.Ordinal);

        var (_, history) = await SendAsync(HttpMethod.Get, "/admin/v1/config/history?limit=1");
        var newest = history.GetProperty("data")[0];
        Assert.Equal(version, newest.GetProperty("version").GetInt64());
        Assert.Equal("admin-key", newest.GetProperty("applied_by").GetString());
        Assert.Equal("apply", newest.GetProperty("action").GetString());
        Assert.Contains("name: apply-budgets", newest.GetProperty("documents").GetString(), StringComparison.Ordinal);
        // Paging: the next page starts below the last version of this one.
        var nextBefore = history.GetProperty("next_before");
        Assert.Equal(version > 1 ? version.ToString(CultureInfo.InvariantCulture) : "null", nextBefore.GetRawText());

        // The live hash holds the whole effective configuration: the file's documents and the applied ones.
        var live = await redis.GetDatabase().HashGetAllAsync(LiveKey);
        var fields = live.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
        Assert.Equal(version.ToString(CultureInfo.InvariantCulture), fields["version"]);
        Assert.Contains("name: mock-claude", fields["yaml"], StringComparison.Ordinal);
        Assert.Contains("name: file-limits", fields["yaml"], StringComparison.Ordinal);
        Assert.Contains("name: apply-budgets", fields["yaml"], StringComparison.Ordinal);
        Assert.Equal(fields["yaml"], await EffectiveYamlAsync());

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (true)
        {
            var message = await announced.ReadAsync(timeout.Token);
            if (message.Message.ToString() == version.ToString(CultureInfo.InvariantCulture))
            {
                break;
            }
        }
    }

    [Fact]
    public async Task Dry_run_answers_the_diff_and_changes_nothing()
    {
        await ApplyOkAsync(Limits("dry-limits", "dry-chat", 1000));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.App.GetConnectionString("redis"));
        var version = await VersionAsync();
        var live = await redis.GetDatabase().HashGetAsync(LiveKey, "yaml");
        var newest = await NewestHistoryVersionAsync();

        var (status, json) = await SendAsync(HttpMethod.Post, "/admin/v1/apply?dry_run=true", Limits("dry-limits", "dry-chat", 5));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(json.GetProperty("dry_run").GetBoolean());
        Assert.True(json.GetProperty("changed").GetBoolean());
        Assert.Equal(version, json.GetProperty("version").GetInt64());
        var diff = json.GetProperty("diff").GetString()!;
        Assert.Contains("~ gateway-rate-limiting-config 'dry-limits' (changed", diff, StringComparison.Ordinal);
        Assert.Contains("  -     limit_to: 1000\n", diff, StringComparison.Ordinal);
        Assert.Contains("  +     limit_to: 5\n", diff, StringComparison.Ordinal);

        Assert.Equal(version, await VersionAsync());
        Assert.Equal(live, await redis.GetDatabase().HashGetAsync(LiveKey, "yaml"));
        Assert.Equal(newest, await NewestHistoryVersionAsync());
        Assert.Contains("limit_to: 1000", await EffectiveYamlAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Applying_the_same_documents_again_changes_nothing()
    {
        await ApplyOkAsync(Limits("same-limits", "same-chat", 7));
        var version = await VersionAsync();

        var json = await ApplyOkAsync(Limits("same-limits", "same-chat", 7));

        Assert.False(json.GetProperty("changed").GetBoolean());
        Assert.Equal("unchanged", json.GetProperty("documents")[0].GetProperty("change").GetString());
        Assert.Equal(version, json.GetProperty("version").GetInt64());
        Assert.Equal(version, await VersionAsync());
    }

    [Fact]
    public async Task An_invalid_document_among_valid_ones_is_rejected_whole_naming_the_document_and_field()
    {
        var version = await VersionAsync();

        var (status, json) = await SendAsync(HttpMethod.Post, "/admin/v1/apply", Limits("whole-ok", "whole-ok-rule", 10) + """
            ---
            type: gateway-rate-limiting-config
            name: whole-bad
            rules:
              - id: whole-bad-rule
                limit: 5
                unit: requests_per_minute
            """);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = json.GetProperty("error");
        Assert.Equal(("invalid_request_error", "invalid_manifest"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("request body, document 2 (gateway-rate-limiting-config 'whole-bad')", message, StringComparison.Ordinal);
        Assert.Contains("unknown field 'limit'", message, StringComparison.Ordinal);
        Assert.Equal(version, await VersionAsync());
        Assert.DoesNotContain("whole-ok", await EffectiveYamlAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""
        type: gateway-budget-config
        name: ref-budget
        rules:
          - id: ref-budget-rule
            when: { models: [mock/no-such-model] }
            limit_to: 1
            unit: cost_per_day
        """, "'mock/no-such-model' is neither a model")]
    [InlineData("""
        type: gateway-load-balancing-config
        name: ref-routing
        rules:
          - id: ref-route
            type: weight-based-routing
            when: { models: [ref-virtual] }
            load_balance_targets:
              - target: mock/no-such-model
                weight: 100
        """, "target 'mock/no-such-model' is not a model of any provider-account")]
    [InlineData("""
        type: gateway-guardrails-config
        name: ref-guardrails
        rules:
          - id: ref-guard
            input: [{ check: telepathy, action: block }]
        """, "(gateway-guardrails-config 'ref-guardrails'), rules[0] (rule 'ref-guard')")]
    [InlineData("""
        type: provider-account
        name: ref-account
        provider: openai
        api_key: ${NO_SUCH_VARIABLE_SET}
        models: [{ name: x }]
        """, "references environment variable NO_SUCH_VARIABLE_SET, which is not set")]
    [InlineData("""
        type: gateway-alerts-config
        name: ref-alerts
        rules:
          - id: ref-alert
            error_rate_above_percent: 5
            window: 5
            notification_target: [{ type: webhook, url: "https://alerts.example.com/hook" }]
        """, "(gateway-alerts-config 'ref-alerts'), rules[0] (rule 'ref-alert'), line 6: unknown field 'window'")]
    [InlineData("""
        type: gateway-alerts-config
        name: ref-alerts
        rules:
          - id: ref-alert
            p95_latency_above_ms: 5000
            notification_target: [{ type: pager, url: "https://alerts.example.com/hook" }]
        """, "(gateway-alerts-config 'ref-alerts'), rules[0] (rule 'ref-alert'), notification_target[0]: unknown type 'pager'")]
    [InlineData("""
        type: gateway-alerts-config
        name: ref-alerts
        rules:
          - id: ref-alert
            models: [mock/no-such-model]
            error_rate_above_percent: 5
            notification_target: [{ type: email, to: [ops@example.com] }]
        """, "(gateway-alerts-config 'ref-alerts'), rules[0] (rule 'ref-alert'), models: 'mock/no-such-model' is neither a model")]
    public async Task Documents_are_checked_by_their_owner_against_the_resulting_configuration(string yaml, string expected)
    {
        var version = await VersionAsync();

        var (status, json) = await SendAsync(HttpMethod.Post, "/admin/v1/apply?dry_run=true", yaml);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = json.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("request body, document 1", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Equal(version, await VersionAsync());
    }

    [Theory]
    [InlineData("application/json", "type: gateway-budget-config\nname: x\ndaily_limit_usd: 5\n", "unsupported_content_type")]
    [InlineData("application/yaml", "type: [unclosed\nname: x\n", "invalid_manifest")]
    [InlineData("text/yaml; charset=utf-8", "- just\n- a list\n", "invalid_manifest")]
    [InlineData("application/x-yaml", "type: gateway-budget-config\ndaily_limit_usd: 5\n", "invalid_manifest")]
    [InlineData("application/yaml", "type: gateway-teapot-config\nname: x\n", "invalid_manifest")]
    [InlineData("application/yaml", "", "invalid_manifest")]
    public async Task A_wrong_content_type_or_malformed_manifest_is_400(string contentType, string body, string code)
    {
        var (status, json) = await SendAsync(HttpMethod.Post, "/admin/v1/apply", body, contentType: contentType);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(code, json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Only_admins_may_change_or_read_the_configuration()
    {
        var token = await app.CreateTokenAsync("cfg-not-admin", Cancellation);
        var yaml = Limits("denied-limits", "denied-rule", 1);

        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Post, "/admin/v1/apply", yaml, token)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Get, "/admin/v1/config/history", token: token)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Get, "/admin/v1/config", token: token)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Post, "/admin/v1/apply", yaml, "")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Post, "/admin/v1/apply", yaml, "wrong-key")).Status);
        Assert.DoesNotContain("denied-limits", await EffectiveYamlAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alert_rules_are_applied_when_valid_and_refused_whole_when_not_so_accounting_never_sees_a_bad_version()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.App.GetConnectionString("redis"));
        var applied = await ApplyOkAsync(Alerts("apply-alerts", "error_rate_above_percent: 5"));
        Assert.Equal("gateway-alerts-config/apply-alerts added", Describe(applied.GetProperty("documents")[0]));
        Assert.Contains("name: apply-alerts", await redis.GetDatabase().HashGetAsync(LiveKey, "yaml"), StringComparison.Ordinal);
        var version = await VersionAsync();

        // A rule the accounting loader refuses: the apply is refused, naming document, rule and field; nothing is stored or published.
        var (status, json) = await SendAsync(HttpMethod.Post, "/admin/v1/apply", Limits("alerts-whole-ok", "alerts-whole-rule", 10) + "---\n"
            + Alerts("apply-alerts", "error_rate_above_percent: 250"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_manifest", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(
            "request body, document 2 (gateway-alerts-config 'apply-alerts'), rules[0] (rule 'apply-alerts-rule'): 'error_rate_above_percent' must be a number above 0 and at most 100 (got '250')",
            json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(version, await VersionAsync());
        var live = (string)(await redis.GetDatabase().HashGetAsync(LiveKey, "yaml"))!;
        Assert.Contains("error_rate_above_percent: 5\n", live, StringComparison.Ordinal);
        Assert.DoesNotContain("alerts-whole-ok", live, StringComparison.Ordinal);
        await SendAsync(HttpMethod.Delete, "/admin/v1/config/gateway-alerts-config/apply-alerts");
    }

    [Fact]
    public async Task Secret_values_are_masked_in_the_effective_configuration_the_history_and_the_diff_but_published_as_written()
    {
        const string yaml = """
            type: provider-account
            name: masked-corp
            provider: openai-compatible
            base_url: https://svc:base-password@127.0.0.1:9/v1?api-key=base-query-key
            headers:
              X-Api-Key: header-secret-value
              X-Tenant: ${MOCK_API_KEY}
            models: [{ name: chat }]
            ---
            type: gateway-alerts-config
            name: masked-alerts
            rules:
              - id: masked-alert
                p95_latency_above_ms: 5000
                notification_target: [{ type: slack-webhook, url: "http://127.0.0.1:9/services/T1/B2/webhook-secret-token" }]
            """;
        string[] secrets = ["base-password", "base-query-key", "header-secret-value", "webhook-secret-token", "T1/B2"];
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.App.GetConnectionString("redis"));
        try
        {
            var dryRun = (await SendAsync(HttpMethod.Post, "/admin/v1/apply?dry_run=true", yaml)).Json;
            var applied = await ApplyOkAsync(yaml);
            var effective = await EffectiveYamlAsync();
            var (_, history) = await SendAsync(HttpMethod.Get, "/admin/v1/config/history?limit=1");
            var newest = history.GetProperty("data")[0];

            foreach (var shown in new[] { dryRun.GetProperty("diff").GetString()!, applied.GetProperty("diff").GetString()!, effective,
                newest.GetProperty("documents").GetString()!, newest.GetProperty("diff").GetString()! })
            {
                Assert.All(secrets, secret => Assert.DoesNotContain(secret, shown, StringComparison.Ordinal));
                Assert.Contains("X-Api-Key: '***'", shown, StringComparison.Ordinal);
                Assert.Contains("X-Tenant: ${MOCK_API_KEY}", shown, StringComparison.Ordinal);
                Assert.Contains("url: 'http://127.0.0.1:9/***'", shown, StringComparison.Ordinal);
                Assert.Contains("base_url: 'https://***@127.0.0.1:9/v1?***'", shown, StringComparison.Ordinal);
            }

            // The services read the published configuration, which keeps every value as written.
            var live = (string)(await redis.GetDatabase().HashGetAsync(LiveKey, "yaml"))!;
            Assert.All(secrets, secret => Assert.Contains(secret, live, StringComparison.Ordinal));

            // A change of a masked value alone is a change, stated without either value.
            var rotated = await ApplyOkAsync(yaml.Replace("header-secret-value", "header-rotated-value", StringComparison.Ordinal));
            Assert.Equal("provider-account/masked-corp changed", Describe(rotated.GetProperty("documents")[0]));
            var diff = rotated.GetProperty("diff").GetString()!;
            Assert.Contains("secret values (***) changed", diff, StringComparison.Ordinal);
            Assert.DoesNotContain("header-", diff, StringComparison.Ordinal);
        }
        finally
        {
            // Other tests compare the published configuration with the shown one: leave no secrets behind.
            await SendAsync(HttpMethod.Delete, "/admin/v1/config/provider-account/masked-corp");
            await SendAsync(HttpMethod.Delete, "/admin/v1/config/gateway-alerts-config/masked-alerts");
        }
    }

    [Fact]
    public async Task Removing_an_applied_document_brings_back_the_one_of_the_file()
    {
        var replaced = await ApplyOkAsync(Limits("file-limits", "file-chat", 3));
        Assert.Equal("changed", replaced.GetProperty("documents")[0].GetProperty("change").GetString());
        Assert.Contains("limit_to: 3", await EffectiveYamlAsync(), StringComparison.Ordinal);

        var (status, json) = await SendAsync(HttpMethod.Delete, "/admin/v1/config/gateway-rate-limiting-config/file-limits");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(replaced.GetProperty("version").GetInt64() + 1, json.GetProperty("version").GetInt64());
        var effective = await EffectiveYamlAsync();
        Assert.Contains("limit_to: 1000", effective, StringComparison.Ordinal);
        Assert.DoesNotContain("limit_to: 3\n", effective, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Delete, "/admin/v1/config/gateway-rate-limiting-config/file-limits")).Status);
    }

    [Fact]
    public async Task Concurrent_applies_all_land()
    {
        var version = await VersionAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => SendAsync(HttpMethod.Post, "/admin/v1/apply", Limits($"race-{i}", $"race-rule-{i}", 10 + i))));

        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(
            Enumerable.Range(1, 4).Select(i => version + i),
            results.Select(r => r.Json.GetProperty("version").GetInt64()).Order());
        var effective = await EffectiveYamlAsync();
        Assert.All(Enumerable.Range(0, 4), i => Assert.Contains($"name: race-{i}\n", effective, StringComparison.Ordinal));
    }

    private static string Limits(string name, string rule, int limit) => $"""
        type: gateway-rate-limiting-config
        name: {name}
        rules:
          - id: {rule}
            when: {"{"} models: [mock/gpt-4o-mini] {"}"}
            limit_to: {limit}
            unit: requests_per_minute

        """;

    private static string Alerts(string name, string condition) => $"""
        type: gateway-alerts-config
        name: {name}
        rules:
          - id: {name}-rule
            {condition}
            notification_target: [{"{"} type: webhook, url: "http://127.0.0.1:9/hook" {"}"}]

        """;

    private static string Describe(JsonElement document) =>
        $"{document.GetProperty("type").GetString()}/{document.GetProperty("name").GetString()} {document.GetProperty("change").GetString()}";

    private async Task<JsonElement> ApplyOkAsync(string yaml)
    {
        var (status, json) = await SendAsync(HttpMethod.Post, "/admin/v1/apply", yaml);
        Assert.True(status == HttpStatusCode.OK, $"apply answered {(int)status}: {json}");
        return json;
    }

    private async Task<long> VersionAsync()
    {
        using var response = await SendRawAsync(HttpMethod.Get, "/admin/v1/config", null, app.AdminKey, null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return long.Parse(response.Headers.GetValues("x-gateway-config-version").Single(), CultureInfo.InvariantCulture);
    }

    private async Task<string> EffectiveYamlAsync()
    {
        using var response = await SendRawAsync(HttpMethod.Get, "/admin/v1/config", null, app.AdminKey, null);
        Assert.Equal("application/yaml", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync(Cancellation);
    }

    private async Task<long?> NewestHistoryVersionAsync()
    {
        var (_, history) = await SendAsync(HttpMethod.Get, "/admin/v1/config/history?limit=1");
        return history.GetProperty("data").GetArrayLength() == 0 ? null : history.GetProperty("data")[0].GetProperty("version").GetInt64();
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(
        HttpMethod method, string path, string? yaml = null, string? token = null, string contentType = "application/yaml")
    {
        using var response = await SendRawAsync(method, path, yaml, token ?? app.AdminKey, contentType);
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        using var json = JsonDocument.Parse(text);
        return (response.StatusCode, json.RootElement.Clone());
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, string? body, string token, string? contentType)
    {
        using var request = new HttpRequestMessage(method, new Uri(app.RouterUrl, path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType!);
        }

        if (token.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await s_http.SendAsync(request, Cancellation);
    }
}
