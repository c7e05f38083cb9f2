using System.Net;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.Apis;

/// <summary>The admin analytics endpoints: authentication, strict parameters, the exact JSON contract.</summary>
public sealed class AnalyticsApiTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private async Task<(HttpStatusCode Status, JsonElement Json)> GetAsync(string pathAndQuery, string? key = TestPolicy.AdminKey)
    {
        using var client = app.CreateClient(key);
        using var response = await client.GetAsync(pathAndQuery, Cancellation);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement.Clone());
    }

    [Fact]
    public async Task Usage_answers_the_contract_and_passes_the_query_on()
    {
        var (status, json) = await GetAsync("/admin/v1/usage?group_by=model&from=2025-06-01T00:00:00Z&to=2025-06-02&bucket=day");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(
            """{"data":[{"group":"mock/gpt-4o-mini","bucket":"2025-06-01T00:00:00Z","requests":3,"prompt_tokens":300,"completion_tokens":30,"cached_tokens":20,"cost_usd":0.0000630},"""
            + """{"group":null,"bucket":null,"requests":1,"prompt_tokens":0,"completion_tokens":0,"cached_tokens":0,"cost_usd":0}],"has_more":false,"next_cursor":null}""",
            json.GetRawText());
        var query = TestAnalyticsService.UsageQueries.Last(q => q.GroupBy == "model" && q.Bucket == "day");
        Assert.Equal(new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero), query.From.ToDateTimeOffset());
        Assert.Equal(new DateTimeOffset(2025, 6, 2, 0, 0, 0, TimeSpan.Zero), query.To.ToDateTimeOffset());
        Assert.Equal("", query.Team);
    }

    [Fact]
    public async Task Usage_pages_with_limit_and_cursor()
    {
        var (_, first) = await GetAsync("/admin/v1/usage?group_by=user&bucket=hour&limit=2");
        var asked = TestAnalyticsService.UsageQueries.Last(q => q.GroupBy == "user" && q.Limit == 2);
        var (_, next) = await GetAsync("/admin/v1/usage/errors?group_by=user&bucket=hour&limit=2&cursor=usage-page-2");
        var (_, top) = await GetAsync("/admin/v1/usage/top-spenders?by=virtual_account&limit=2");

        Assert.Equal((true, "usage-page-2"), (first.GetProperty("has_more").GetBoolean(), first.GetProperty("next_cursor").GetString()));
        Assert.Equal("", asked.Cursor);
        Assert.Equal("usage-page-2", TestAnalyticsService.UsageQueries.Last(q => q.GroupBy == "user" && q.Cursor.Length > 0).Cursor);
        Assert.Equal((false, JsonValueKind.Null), (next.GetProperty("has_more").GetBoolean(), next.GetProperty("next_cursor").ValueKind));
        // A top-N answer is one page: no paging fields.
        Assert.False(top.TryGetProperty("has_more", out _));
        Assert.Equal(0, TestAnalyticsService.UsageQueries.Last(q => q.GroupBy == "virtual_account" && q.Top == 2).Limit);
    }

    [Fact]
    public async Task Team_admin_is_bound_to_their_team_and_refused_another()
    {
        var (status, _) = await GetAsync("/admin/v1/usage?group_by=user&bucket=hour&from=2025-06-03T00:00:00Z&to=2025-06-03T05:00:00Z", TestPolicy.TeamAdminKey);
        var (other, error) = await GetAsync("/admin/v1/usage?group_by=user&team=team-b", TestPolicy.TeamAdminKey);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("team-a", TestAnalyticsService.UsageQueries.Last(q => q.GroupBy == "user" && q.Bucket == "hour" && q.From.Seconds == 1748908800).Team);
        Assert.Equal(HttpStatusCode.Forbidden, other);
        Assert.Equal("team", error.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Admin_of_several_teams_names_one_of_them()
    {
        var (unnamed, unnamedError) = await GetAsync("/admin/v1/usage?group_by=model", TestPolicy.TeamsAdminKey);
        var (named, _) = await GetAsync("/admin/v1/usage?group_by=provider&bucket=day&team=team-c", TestPolicy.TeamsAdminKey);
        var (other, otherError) = await GetAsync("/admin/v1/usage?group_by=model&team=team-a", TestPolicy.TeamsAdminKey);

        Assert.Equal((HttpStatusCode.BadRequest, "team"), (unnamed, unnamedError.GetProperty("error").GetProperty("param").GetString()));
        Assert.Equal(HttpStatusCode.OK, named);
        Assert.Equal("team-c", TestAnalyticsService.UsageQueries.Last(q => q.GroupBy == "provider" && q.Bucket == "day").Team);
        Assert.Equal((HttpStatusCode.Forbidden, "team"), (other, otherError.GetProperty("error").GetProperty("param").GetString()));
    }

    [Fact]
    public async Task Gateway_admin_may_ask_for_any_team_or_all()
    {
        var (one, _) = await GetAsync("/admin/v1/usage?group_by=virtual_account&team=team-z");
        var (all, _) = await GetAsync("/admin/v1/usage?group_by=team");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (one, all));
        Assert.Equal("team-z", TestAnalyticsService.UsageQueries.Last(q => q.GroupBy == "virtual_account").Team);
        Assert.Equal("", TestAnalyticsService.UsageQueries.Last(q => q.GroupBy == "team").Team);
    }

    [Theory]
    [InlineData("/admin/v1/usage")]
    [InlineData("/admin/v1/usage/latency")]
    [InlineData("/admin/v1/requests")]
    public async Task Missing_or_wrong_admin_key_is_401(string path)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(path, key: null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(path, key: "wrong")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(path, key: TestPolicy.GoodToken)).Status);
    }

    [Theory]
    [InlineData("/admin/v1/usage?from=yesterday", "from")]
    [InlineData("/admin/v1/usage?to=2025-13-01", "to")]
    [InlineData("/admin/v1/usage?from=2025-06-02&to=2025-06-01", "to")]
    [InlineData("/admin/v1/usage?bucket=week", "bucket")]
    [InlineData("/admin/v1/usage?group_by=colour", "group_by")]
    [InlineData("/admin/v1/usage?groupby=model", "groupby")]
    [InlineData("/admin/v1/usage?bucket=day&bucket=hour", "bucket")]
    [InlineData("/admin/v1/usage?group_by=" + TestAnalyticsService.RefusedGroupBy, "group_by")]
    [InlineData("/admin/v1/usage/top-spenders?by=model", "by")]
    [InlineData("/admin/v1/usage/top-spenders?limit=0", "limit")]
    [InlineData("/admin/v1/usage/latency?group_by=user", "group_by")]
    [InlineData("/admin/v1/usage?limit=0", "limit")]
    [InlineData("/admin/v1/usage?limit=10001", "limit")]
    [InlineData("/admin/v1/usage/cost-trend?limit=-5", "limit")]
    [InlineData("/admin/v1/usage?cursor=a&cursor=b", "cursor")]
    [InlineData("/admin/v1/usage/top-spenders?cursor=abc", "cursor")]
    [InlineData("/admin/v1/requests?status=abc", "status")]
    [InlineData("/admin/v1/requests?limit=5000", "limit")]
    public async Task Bad_parameter_is_400_naming_it(string pathAndQuery, string param)
    {
        var (status, json) = await GetAsync(pathAndQuery);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = json.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Side_views_write_their_own_fields()
    {
        var (_, errors) = await GetAsync("/admin/v1/usage/errors?group_by=target");
        var (_, top) = await GetAsync("/admin/v1/usage/top-spenders?by=team&limit=5");
        var (_, trend) = await GetAsync("/admin/v1/usage/cost-trend");
        var (_, savings) = await GetAsync("/admin/v1/usage/cache-savings?group_by=provider");
        var (_, latency) = await GetAsync("/admin/v1/usage/latency?group_by=target");

        Assert.Equal(0.333333, errors.GetProperty("data")[0].GetProperty("error_rate").GetDouble());
        Assert.Equal(5, TestAnalyticsService.UsageQueries.Last(q => q.GroupBy == "team" && q.Top == 5).Top);
        Assert.Equal("""{"group":"mock/gpt-4o-mini","requests":3,"prompt_tokens":300,"completion_tokens":30,"cost_usd":0.0000630}""", top.GetProperty("data")[0].GetRawText());
        Assert.Equal("2025-06-01T00:00:00Z", trend.GetProperty("data")[0].GetProperty("bucket").GetString());
        Assert.Equal(0.0000015m, savings.GetProperty("data")[0].GetProperty("cache_savings_usd").GetDecimal());
        Assert.Equal(
            """{"group":"target","requests":2,"latency_p50_ms":10,"latency_p95_ms":19,"latency_p99_ms":19.8,"streamed":0,"ttft_p50_ms":null,"ttft_p95_ms":null,"ttft_p99_ms":null}""",
            latency.GetProperty("data")[0].GetRawText());
    }

    [Fact]
    public async Task Request_log_pages_with_a_cursor_and_passes_the_filters()
    {
        var (status, first) = await GetAsync("/admin/v1/requests?user=ada&model=mock/gpt-4o-mini&status=200&limit=10");
        var (_, last) = await GetAsync("/admin/v1/requests?user=ada&cursor=next-page");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("next-page", first.GetProperty("next_cursor").GetString());
        Assert.Equal(JsonValueKind.Null, last.GetProperty("next_cursor").ValueKind);
        var row = first.GetProperty("data")[0];
        Assert.Equal(("req-1", "2025-06-01T12:00:00Z", "x"), (row.GetProperty("request_id").GetString(), row.GetProperty("started_at").GetString(),
            row.GetProperty("metadata").GetProperty("project").GetString()));
        Assert.Equal("""[{"rule":"safety","check":"prompt_injection","category":"jailbreak","action":"flag","count":1,"stage":"input"}]""",
            row.GetProperty("guardrails").GetRawText());
        var search = TestAnalyticsService.Searches.Last(s => s.Limit == 10);
        Assert.Equal(("ada", "mock/gpt-4o-mini", 200), (search.User, search.Model, search.StatusCode));
    }
}
