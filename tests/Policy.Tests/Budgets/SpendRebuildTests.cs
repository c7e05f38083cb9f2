using Gateway.Aspire.ServiceDefaults.Configuration;
using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.ServiceDefaults.Billing;
using Gateway.Aspire.Testing;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Tests.Budgets;

/// <summary>
/// Rebuilding budget counters from ledger groups against real Redis: the same keys and values
/// admission wrote, stale current-period counters removed, earlier periods left alone.
/// </summary>
public sealed class SpendRebuildTests(RedisServerFixture redis) : IAsyncLifetime
{
    private const string Model = "mock/gpt-4o-mini";
    private const long Cent = NanoUsd.PerUsd / 100;

    // Wednesday 2030-01-09, midday UTC: the week began on Monday the 7th.
    private static readonly DateTimeOffset s_now = new(2030, 1, 9, 12, 0, 0, TimeSpan.Zero);

    private static readonly BudgetRules s_budgets = BudgetConfigLoader.Parse("""
        type: gateway-budget-config
        rules:
          - id: per-project
            when: { metadata: { env: prod } }
            limit_to: 1
            unit: cost_per_day
            budget_applies_per: [metadata.project]
          - id: weekly
            limit_to: 10
            unit: cost_per_week
        """, "gateway.yaml");

    private RedisConnections? _redis;

    public async ValueTask InitializeAsync() => _redis = await RedisConnections.StartAsync(redis);

    public ValueTask DisposeAsync() => _redis?.DisposeAsync() ?? ValueTask.CompletedTask;

    [Fact]
    public void Scope_covers_the_earliest_current_period_and_the_metadata_rules_use()
    {
        var scope = Rebuild(null!).Scope(s_now);

        Assert.True(scope.Any);
        Assert.Equal(new DateTimeOffset(2030, 1, 7, 0, 0, 0, TimeSpan.Zero), scope.From.ToDateTimeOffset());
        Assert.Equal(["env", "project"], scope.MetadataKeys);
    }

    [Fact]
    public async Task Rebuild_sets_what_admission_counted_removes_stale_counters_and_keeps_earlier_periods()
    {
        var connection = await _redis!.ConnectAsync();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(s_now);
        var counters = new AdmissionCounters(new RateLimiter(RateLimitRules.None, connection, time), new BudgetCounters(s_budgets, connection), connection, time);
        var calls = new (string Project, string Env, long Cost)[] { ("a", "prod", 3 * Cent), ("a", "prod", 2 * Cent), ("b", "prod", 7 * Cent), ("a", "dev", 5 * Cent) };
        foreach (var (project, env, cost) in calls)
        {
            var outcome = await counters.AdmitAsync(Call(project, env, cost));
            Assert.Null(outcome.Budget!.Blocked);
        }

        var database = connection.GetDatabase();
        var before = await CountersAsync(connection);
        Assert.Equal(3, before.Count); // per-project a and b, weekly: the dev call counts only weekly

        await connection.GetServers()[0].FlushDatabaseAsync(database.Database);
        var stale = $"{BudgetCounters.KeyPrefix}per-project:cost_per_day:2030-01-09:0123456789abcdef0123456789abcdef";
        var yesterday = $"{BudgetCounters.KeyPrefix}per-project:cost_per_day:2030-01-08";
        await database.StringSetAsync(stale, 999);
        await database.StringSetAsync(yesterday, 7);

        // The ledger's groups for those calls, plus Monday's spend, which only the weekly budget's period holds.
        var groups = calls.GroupBy(c => (c.Project, c.Env)).Select(g => Group(g.Key.Project, g.Key.Env, s_now.Date, g.Sum(c => c.Cost))).ToList();
        groups.Add(Group("a", "prod", new DateTime(2030, 1, 7), 4 * Cent));
        var reply = await Rebuild(connection).RebuildAsync(s_now, groups, CancellationToken.None);

        var after = await CountersAsync(connection);
        var weekly = $"{BudgetCounters.KeyPrefix}weekly:cost_per_week:2030-01-07";
        Assert.Equal((long)before[weekly] + 4 * Cent, (long)after[weekly]);
        Assert.All(before.Keys.Where(k => k != weekly), k => Assert.Equal(before[k], after[k]));
        Assert.False(after.ContainsKey(stale));
        Assert.Equal(7, (long)after[yesterday]);
        Assert.Equal(1, reply.Removed);
        Assert.Equal(3, reply.Counters.Count);
        Assert.True(await database.KeyTimeToLiveAsync(weekly) > TimeSpan.FromDays(5));
    }

    private static SpendRebuild Rebuild(IConnectionMultiplexer connection) =>
        // Tokens are not looked up: the groups' token ids are not token GUIDs (a legacy caller).
        new(new LiveConfig<PolicyRules>(PolicyRules.None with { Budgets = s_budgets }), connection, new TokenRepository(NpgsqlDataSource.Create("Host=127.0.0.1;Port=1")));

    private static AdmissionCall Call(string project, string env, long cost) =>
        new(["virtualaccount:ci"], "ci", Model, new Dictionary<string, string> { ["project"] = project, ["env"] = env }, 0, 0, cost);

    private static SpendGroup Group(string project, string env, DateTime day, long cost) => new()
    {
        TokenId = "legacy",
        VirtualAccount = "ci",
        RequestedModel = Model,
        Metadata = { ["project"] = project, ["env"] = env },
        Day = Timestamp.FromDateTime(DateTime.SpecifyKind(day, DateTimeKind.Utc)),
        CostNanoUsd = cost,
    };

    private static async Task<Dictionary<string, RedisValue>> CountersAsync(ConnectionMultiplexer connection)
    {
        var database = connection.GetDatabase();
        var counters = new Dictionary<string, RedisValue>(StringComparer.Ordinal);
        await foreach (var key in connection.GetServers()[0].KeysAsync(database.Database, $"{BudgetCounters.KeyPrefix}*"))
        {
            counters[key.ToString()] = await database.StringGetAsync(key);
        }

        return counters;
    }
}
