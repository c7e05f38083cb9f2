using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Tests.Admission;

/// <summary>Redis' command statistics are server-wide: this runs alone so no other test's scripts are counted.</summary>
[CollectionDefinition(DisableParallelization = true)]
public sealed class RedisCommandStatistics;

/// <summary>An admission with a rate limit and a budget is one script call, sent as EVALSHA.</summary>
[Collection(typeof(RedisCommandStatistics))]
public sealed class AdmissionScriptTests(RedisServerFixture redis)
{
    [Fact]
    public async Task RateLimitAndBudget_AreOneEvalshaPerAdmission()
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.NextDatabase() + ",allowAdmin=true");
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 9, 12, 0, 0, TimeSpan.Zero));
        var counters = new AdmissionCounters(
            new RateLimiter(RateLimitConfigLoader.Parse("type: gateway-rate-limiting-config\nrules: [{ id: r, limit_to: 100, unit: requests_per_minute }]", "gateway.yaml"), connection, time),
            new BudgetCounters(BudgetConfigLoader.Parse("type: gateway-budget-config\nrules: [{ id: b, limit_to: 1, unit: cost_per_day }]", "gateway.yaml"), connection),
            connection,
            time);
        var call = new AdmissionCall(["virtualaccount:ci"], "ci", "mock/gpt-4o-mini", new Dictionary<string, string>(), 0, 0, 1);
        await counters.AdmitAsync(call); // the first call may have to send the script itself
        var server = connection.GetServers()[0];
        var before = await ScriptCalls(server);

        for (var i = 0; i < 5; i++)
        {
            var (rateLimit, budget) = await counters.AdmitAsync(call);
            Assert.True(rateLimit!.Allowed);
            Assert.Null(budget!.Blocked);
        }

        var after = await ScriptCalls(server);
        Assert.Equal(5, after.Evalsha - before.Evalsha);
        Assert.Equal(0, after.Eval - before.Eval);
    }

    private static async Task<(long Eval, long Evalsha)> ScriptCalls(IServer server)
    {
        var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        return (Calls("cmdstat_eval"), Calls("cmdstat_evalsha"));

        long Calls(string key) => stats.TryGetValue(key, out var value)
            ? long.Parse(value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture)
            : 0;
    }
}
