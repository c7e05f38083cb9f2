using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.ServiceDefaults.Billing;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Tests.Budgets;

/// <summary>Budgets in the admission script against real Redis, with a fake clock driving the periods.</summary>
public sealed class BudgetCountersTests(RedisServerFixture redis) : IAsyncLifetime
{
    private const string Model = "mock/gpt-4o-mini";

    // Each call may cost 0.1 USD: a 1 USD budget affords exactly 10.
    private const long TenCents = NanoUsd.PerUsd / 10;

    // Wednesday 2030-01-09, midday UTC.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 9, 12, 0, 0, TimeSpan.Zero));
    private RedisConnections? _redis;

    public async ValueTask InitializeAsync() => _redis = await RedisConnections.StartAsync(redis);

    public ValueTask DisposeAsync() => _redis?.DisposeAsync() ?? ValueTask.CompletedTask;

    [Fact]
    public async Task HundredConcurrentCalls_ThroughTwoReplicas_AdmitAtMostWhatTheBudgetAffords()
    {
        var budgets = Budgets("""
            rules:
              - id: ten-calls
                limit_to: 1
                unit: cost_per_day
            """);
        // Two counters with their own connections: two policy replicas sharing Redis.
        var replicas = new[] { await Counters(budgets), await Counters(budgets) };

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => replicas[i % 2].AdmitAsync(Call("ci", cost: TenCents))));

        var admitted = outcomes.Where(o => o.Budget!.Blocked is null).ToArray();
        Assert.Equal(10, admitted.Length);
        Assert.All(admitted, o => Assert.NotEmpty(o.Budget!.Reservation));
        Assert.All(outcomes.Except(admitted), o =>
        {
            Assert.Equal("ten-calls", o.Budget!.Blocked!.Rule.Id);
            Assert.Equal(NanoUsd.PerUsd, o.Budget.Blocked.SpentNanoUsd);
            Assert.Equal(new DateTimeOffset(2030, 1, 10, 0, 0, 0, TimeSpan.Zero), o.Budget.Blocked.ResetsAt);
            Assert.Empty(o.Budget.Reservation);
        });
        Assert.Equal(NanoUsd.PerUsd, await Spent("ten-calls", "cost_per_day", "2030-01-09"));
    }

    [Fact]
    public async Task SettlingToTheActualCost_FreesTheRestOfTheReservation()
    {
        var counters = await Counters(Budgets("""
            rules:
              - id: ten-calls
                limit_to: 1
                unit: cost_per_day
            """));
        var reservations = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            reservations.Add((await counters.AdmitAsync(Call("ci", cost: TenCents))).Budget!.Reservation);
        }

        Assert.NotNull((await counters.AdmitAsync(Call("ci", cost: TenCents))).Budget!.Blocked);

        // Each call really cost 0.02 USD: 0.8 USD comes back, enough for 8 more worst cases.
        foreach (var reservation in reservations)
        {
            Assert.True(await counters.SettleCostAsync(reservation, TenCents / 5));
        }

        Assert.Equal(NanoUsd.PerUsd / 5, await Spent("ten-calls", "cost_per_day", "2030-01-09"));
        var more = new List<BudgetOutcome>();
        for (var i = 0; i < 9; i++)
        {
            more.Add((await counters.AdmitAsync(Call("ci", cost: TenCents))).Budget!);
        }

        Assert.Equal(8, more.Count(o => o.Blocked is null));

        // A failed call settles to 0; a call that cost more than reserved adds the difference.
        Assert.True(await counters.SettleCostAsync(more[0].Reservation, 0));
        Assert.True(await counters.SettleCostAsync(more[1].Reservation, TenCents * 2));
        Assert.Equal(NanoUsd.PerUsd, await Spent("ten-calls", "cost_per_day", "2030-01-09"));
        Assert.False(await counters.SettleCostAsync("garbage", 1));
        Assert.False(await counters.SettleCostAsync("", 1));
    }

    [Theory]
    // Day: 23:59:59.999 is still the old day.
    [InlineData("cost_per_day", "2030-01-09T23:59:59.999Z", "2030-01-10T00:00:00Z", "2030-01-09", "2030-01-10")]
    // Week: Sunday night is still the week that began on Monday the 7th; Monday the 14th starts a new one.
    [InlineData("cost_per_week", "2030-01-13T23:59:59.999Z", "2030-01-14T00:00:00Z", "2030-01-07", "2030-01-14")]
    // Month: February of a common year ends on the 28th.
    [InlineData("cost_per_month", "2030-02-28T23:59:59.999Z", "2030-03-01T00:00:00Z", "2030-02-01", "2030-03-01")]
    // Month and year end together.
    [InlineData("cost_per_month", "2030-12-31T23:59:59.999Z", "2031-01-01T00:00:00Z", "2030-12-01", "2031-01-01")]
    // A week across the year end.
    [InlineData("cost_per_week", "2031-01-05T23:59:59.999Z", "2031-01-06T00:00:00Z", "2030-12-30", "2031-01-06")]
    public async Task Periods_RollOverAtTheirBoundary_AndNotBefore(string unit, string lastMoment, string nextPeriod, string oldStart, string newStart)
    {
        var counters = await Counters(Budgets($"""
            rules:
              - id: tight
                limit_to: 0.1
                unit: {unit}
            """));
        var last = DateTimeOffset.Parse(lastMoment, System.Globalization.CultureInfo.InvariantCulture);
        var next = DateTimeOffset.Parse(nextPeriod, System.Globalization.CultureInfo.InvariantCulture);

        // Exhaust the budget in the period's last hour, then wait until its very last moment.
        _time.SetUtcNow(last.AddHours(-1));
        Assert.Null((await counters.AdmitAsync(Call("ci", cost: TenCents))).Budget!.Blocked);
        _time.SetUtcNow(last);
        var refused = (await counters.AdmitAsync(Call("ci", cost: TenCents))).Budget!.Blocked;
        Assert.NotNull(refused);
        Assert.Equal(next, refused.ResetsAt);

        _time.SetUtcNow(next);
        var fresh = (await counters.AdmitAsync(Call("ci", cost: TenCents))).Budget!;
        Assert.Null(fresh.Blocked);
        Assert.Equal(TenCents, fresh.Budgets[0].SpentNanoUsd);
        Assert.Equal(TenCents, await Spent("tight", unit, oldStart));
        Assert.Equal(TenCents, await Spent("tight", unit, newStart));

        // The old period's counter expires a day after the period ended.
        var ttl = await (await Connect()).GetDatabase().KeyTimeToLiveAsync($"{BudgetCounters.KeyPrefix}tight:{unit}:{oldStart}");
        Assert.NotNull(ttl);
    }

    [Fact]
    public async Task FirstMatchingRuleDecides_WhileEveryMatchingRuleCountsTheCost()
    {
        var counters = await Counters(Budgets("""
            rules:
              - id: ml-team
                when: { subjects: ["virtualaccount:ml"] }
                limit_to: 1
                unit: cost_per_day
              - id: everyone
                limit_to: 0.3
                unit: cost_per_day
            """));

        // ml is decided by its own, larger rule even after "everyone" is spent...
        var ml = new List<BudgetOutcome>();
        for (var i = 0; i < 5; i++)
        {
            ml.Add((await counters.AdmitAsync(Call("ml", cost: TenCents))).Budget!);
        }

        Assert.All(ml, o => Assert.Null(o.Blocked));
        Assert.Equal(["ml-team", "everyone"], ml[0].Budgets.Select(b => b.Rule.Id));
        Assert.Equal([true, false], ml[0].Budgets.Select(b => b.Enforced));

        // ...but its spend counted there too, so everyone else is already out of budget.
        var web = (await counters.AdmitAsync(Call("web", cost: TenCents))).Budget!;
        Assert.Equal("everyone", web.Blocked!.Rule.Id);
        Assert.Equal(TenCents * 5, web.Blocked.SpentNanoUsd);
    }

    [Fact]
    public async Task AppliesPerMetadataKey_KeepsASeparateBudgetPerValue()
    {
        var counters = await Counters(Budgets("""
            rules:
              - id: per-project
                when: { metadata: { environment: prod } }
                limit_to: 0.2
                unit: cost_per_day
                budget_applies_per: [metadata.project]
            """));

        var a = new[] { await Admit("a"), await Admit("a"), await Admit("a") };
        var b = new[] { await Admit("b"), await Admit("b"), await Admit("b") };

        Assert.Equal([true, true, false], a.Select(o => o.Budget!.Blocked is null));
        Assert.Equal([true, true, false], b.Select(o => o.Budget!.Blocked is null));
        // Without environment=prod the rule does not match: no budget applies.
        Assert.Null((await counters.AdmitAsync(Call("ci", cost: TenCents, metadata: new() { ["project"] = "a" }))).Budget);

        Task<(RateLimitOutcome?, BudgetOutcome? Budget)> Admit(string project) =>
            counters.AdmitAsync(Call("ci", cost: TenCents, metadata: new() { ["project"] = project, ["environment"] = "prod" }));
    }

    [Fact]
    public async Task SoftBudget_NeverBlocks_ButReportsTheCrossedThresholdsAndTheExcess()
    {
        var counters = await Counters(Budgets("""
            rules:
              - id: soft
                limit_to: 0.4
                unit: cost_per_day
                mode: soft
                alerts: { thresholds: [50, 75, 100] }
            """));

        var outcomes = new List<BudgetOutcome>();
        for (var i = 0; i < 6; i++)
        {
            outcomes.Add((await counters.AdmitAsync(Call("ci", cost: TenCents))).Budget!);
        }

        Assert.All(outcomes, o => Assert.Null(o.Blocked));
        Assert.All(outcomes, o => Assert.False(o.Budgets[0].Enforced));
        // 0.1, 0.2 (50 %), 0.3 (75 %), 0.4 (100 %), 0.5, 0.6 USD.
        Assert.Equal([0, 50, 75, 100, 0, 0], outcomes.Select(o => o.Budgets[0].CrossedThresholdPercent));
        Assert.Equal([false, false, false, false, true, true], outcomes.Select(o => o.Budgets[0].Exceeded));
    }

    [Fact]
    public async Task GlobalDailyLimit_AppliesBesidesTheFirstMatch_WithItsWarningThreshold()
    {
        var counters = await Counters(Budgets("""
            daily_limit_usd: 0.3
            warning_threshold_percent: 60
            rules:
              - id: generous
                limit_to: 100
                unit: cost_per_month
            """));

        var outcomes = new List<BudgetOutcome>();
        for (var i = 0; i < 4; i++)
        {
            outcomes.Add((await counters.AdmitAsync(Call(i % 2 == 0 ? "ci" : "web", cost: TenCents))).Budget!);
        }

        Assert.Equal([true, true, true, false], outcomes.Select(o => o.Blocked is null));
        Assert.Equal(BudgetRules.GlobalDailyId, outcomes[3].Blocked!.Rule.Id);
        Assert.Equal([0, 60, 100], outcomes.Take(3).Select(o => o.Budgets[1].CrossedThresholdPercent));
        Assert.Equal(["generous", BudgetRules.GlobalDailyId], outcomes[0].Budgets.Select(b => b.Rule.Id));
    }

    [Fact]
    public async Task RateLimitAndBudget_CountTogetherOrNotAtAll()
    {
        var counters = await Counters(
            Budgets("""
                rules:
                  - id: three-calls
                    limit_to: 0.3
                    unit: cost_per_day
                """),
            RateLimitConfigLoader.Parse("""
                type: gateway-rate-limiting-config
                rules: [{ id: two-per-minute, limit_to: 2, unit: requests_per_minute }]
                """, "gateway.yaml"));

        var first = await counters.AdmitAsync(Call("ci", cost: TenCents));
        var second = await counters.AdmitAsync(Call("ci", cost: TenCents));
        var limited = await counters.AdmitAsync(Call("ci", cost: TenCents));

        Assert.True(first.RateLimit!.Allowed && second.RateLimit!.Allowed);
        Assert.False(limited.RateLimit!.Allowed);
        // The rate-limited call reserved nothing against the budget.
        Assert.Equal(TenCents * 2, await Spent("three-calls", "cost_per_day", "2030-01-09"));

        // A call the budget refuses does not use up rate-limit capacity.
        _time.Advance(TimeSpan.FromMinutes(2));
        var expensive = await counters.AdmitAsync(Call("ci", cost: TenCents * 2));
        Assert.True(expensive.RateLimit!.Allowed);
        Assert.NotNull(expensive.Budget!.Blocked);
        Assert.Equal(2, expensive.RateLimit.Remaining);
        Assert.Equal(1, (await counters.AdmitAsync(Call("ci", cost: TenCents))).RateLimit!.Remaining);
    }

    private static BudgetRules Budgets(string body) => BudgetConfigLoader.Parse("type: gateway-budget-config\n" + body, "gateway.yaml");

    private static AdmissionCall Call(string virtualAccount, long cost, Dictionary<string, string>? metadata = null) =>
        new(["virtualaccount:" + virtualAccount], virtualAccount, Model, metadata ?? [], 0, 0, cost);

    private async Task<AdmissionCounters> Counters(BudgetRules budgets, RateLimitRules? rateLimits = null)
    {
        var connection = await Connect();
        return new AdmissionCounters(
            new RateLimiter(rateLimits ?? RateLimitRules.None, connection, _time), new BudgetCounters(budgets, connection), connection, _time);
    }

    private async Task<long> Spent(string rule, string unit, string periodStart) =>
        (long)await (await Connect()).GetDatabase().StringGetAsync($"{BudgetCounters.KeyPrefix}{rule}:{unit}:{periodStart}");

    private Task<ConnectionMultiplexer> Connect() => _redis!.ConnectAsync();
}
