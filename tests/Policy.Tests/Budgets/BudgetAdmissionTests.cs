using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.ServiceDefaults.Billing;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Policy.Tests.Budgets;

/// <summary>Budgets through Admission.Admit and Settle over real gRPC: two policy replicas sharing Redis and PostgreSQL.</summary>
public sealed class BudgetAdmissionTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private const long TenCents = NanoUsd.PerUsd / 10;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 9, 12, 0, 0, TimeSpan.Zero));
    private PolicyReplicas? _replicas;

    private PolicyTestHost First => _replicas!.First;

    private PolicyTestHost Second => _replicas!.Second;

    public async ValueTask InitializeAsync() => _replicas = await PolicyReplicas.StartAsync(postgres, redis, _time, "policy-budget", """
                type: gateway-budget-config
                name: budgets
                rules:
                  - id: ten-calls
                    when: { subjects: ["virtualaccount:burst"] }
                    limit_to: 1
                    unit: cost_per_day
                  - id: soft-cap
                    when: { subjects: ["virtualaccount:soft"] }
                    limit_to: 0.15
                    unit: cost_per_week
                    mode: soft
                    alerts: { thresholds: [50, 100] }
                  - id: per-team
                    when: { subjects: ["team:research", "team:design"] }
                    limit_to: 0.2
                    unit: cost_per_day
                    budget_applies_per: [team]
                """);

    public ValueTask DisposeAsync() => _replicas?.DisposeAsync() ?? ValueTask.CompletedTask;

    [Fact]
    public async Task HundredConcurrentAdmits_OverTwoReplicas_AdmitExactlyTheTenTheBudgetAffords()
    {
        var token = (await First.CreateTokenAsync("burst")).Token;
        var hosts = new[] { First, Second };

        var replies = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Admit(hosts[i % 2], token, $"r{i}")));

        Assert.Equal(10, replies.Count(r => r.Decision == AdmitDecision.Allowed));
        Assert.All(replies.Where(r => r.Decision == AdmitDecision.Allowed), r => Assert.NotEmpty(r.BudgetReservation));
        var refused = replies.Where(r => r.Decision != AdmitDecision.Allowed).ToArray();
        Assert.Equal(90, refused.Length);
        Assert.All(refused, r =>
        {
            Assert.Equal(AdmitDecision.BudgetExceeded, r.Decision);
            Assert.Equal("ten-calls", r.BudgetRule);
            Assert.Equal(
                "Budget 'ten-calls' exceeded: 1 USD per day, 1 USD spent or reserved, and this request may cost up to 0.1 USD. It resets at 2030-01-10T00:00:00Z.",
                r.Message);
            Assert.Empty(r.BudgetReservation);
            var status = Assert.Single(r.Budgets);
            Assert.Equal(("ten-calls", true, NanoUsd.PerUsd, NanoUsd.PerUsd), (status.Rule, status.Enforced, status.LimitNanoUsd, status.SpentNanoUsd));
            Assert.Equal(new DateTimeOffset(2030, 1, 10, 0, 0, 0, TimeSpan.Zero), status.ResetsAt.ToDateTimeOffset());
        });

        // The next day starts a fresh budget.
        _time.Advance(TimeSpan.FromHours(12));
        Assert.Equal(AdmitDecision.Allowed, (await Admit(Second, token, "tomorrow")).Decision);
    }

    [Fact]
    public async Task SettleRpc_MovesTheReservationToTheActualCost_OnAnotherReplica_AndUnknownCostKeepsIt()
    {
        var token = (await First.CreateTokenAsync("burst")).Token;
        var admitted = new List<AdmitReply>();
        for (var i = 0; i < 10; i++)
        {
            admitted.Add(await Admit(First, token, $"s{i}"));
        }

        Assert.Equal(AdmitDecision.BudgetExceeded, (await Admit(Second, token, "s10")).Decision);

        // Unknown cost (the field unset): the reservation stays.
        var unknown = await Second.Admission.SettleAsync(
            new SettleRequest { BudgetReservation = admitted[0].BudgetReservation, RequestId = "s0" }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(unknown.BudgetSettled);
        Assert.Equal(AdmitDecision.BudgetExceeded, (await Admit(Second, token, "s11")).Decision);

        // The call failed: it settles to 0 and gives its whole reservation back.
        var settled = await Second.Admission.SettleAsync(
            new SettleRequest { BudgetReservation = admitted[0].BudgetReservation, ActualCostNanoUsd = 0, RequestId = "s0" },
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(settled.BudgetSettled);
        var again = await Admit(Second, token, "s12");
        Assert.Equal(AdmitDecision.Allowed, again.Decision);
        Assert.Equal(NanoUsd.PerUsd, again.Budgets[0].SpentNanoUsd);
    }

    [Fact]
    public async Task SoftBudget_AdmitsPastItsLimit_AndReportsTheCrossing()
    {
        var token = (await First.CreateTokenAsync("soft")).Token;

        var replies = new List<AdmitReply>();
        for (var i = 0; i < 4; i++)
        {
            replies.Add(await Admit(i % 2 == 0 ? First : Second, token, $"soft{i}"));
        }

        Assert.All(replies, r => Assert.Equal(AdmitDecision.Allowed, r.Decision));
        // 0.1 USD (50 %), 0.2 (100 %, exceeded), 0.3, 0.4.
        Assert.Equal([50, 100, 0, 0], replies.Select(r => r.Budgets[0].CrossedThresholdPercent));
        Assert.Equal([false, true, true, true], replies.Select(r => r.Budgets[0].Exceeded));
        Assert.All(replies, r => Assert.False(r.Budgets[0].Enforced));
    }

    [Fact]
    public async Task TeamBudget_CountsPerTeam_ForPersonalTokens_AndAVirtualAccountOfTheTeam()
    {
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            await First.CreateUserAsync(user);
        }

        await First.CreateTeamAsync("research", null, "alice", "bob");
        await First.CreateTeamAsync("design", null, "carol");
        var alice = (await First.CreatePersonalTokenAsync("alice")).Token;
        var bob = (await First.CreatePersonalTokenAsync("bob")).Token;
        var carol = (await First.CreatePersonalTokenAsync("carol")).Token;
        var app = (await First.CreateTokenAsync(new CreateTokenRequest { Name = "research-app", Team = "research", Models = { "mock/gpt-4o-mini" } })).Token;

        // Two calls of 0.1 USD use up research's 0.2 USD, on either replica.
        Assert.Equal(AdmitDecision.Allowed, (await Admit(First, alice, "t1")).Decision);
        Assert.Equal(AdmitDecision.Allowed, (await Admit(Second, bob, "t2")).Decision);

        // The same team counter refuses every member and the team's virtual account...
        foreach (var (host, token, id) in new[] { (First, alice, "t3"), (Second, bob, "t4"), (First, app, "t5") })
        {
            var refused = await Admit(host, token, id);
            Assert.Equal((AdmitDecision.BudgetExceeded, "per-team"), (refused.Decision, refused.BudgetRule));
            Assert.Equal(TenCents * 2, refused.Budgets[0].SpentNanoUsd);
        }

        // ...while design has a counter of its own.
        var design = await Admit(Second, carol, "t6");
        Assert.Equal(AdmitDecision.Allowed, design.Decision);
        Assert.Equal(("per-team", TenCents), (design.Budgets[0].Rule, design.Budgets[0].SpentNanoUsd));
    }

    private static Task<AdmitReply> Admit(PolicyTestHost host, string token, string requestId) =>
        host.Admission.AdmitAsync(
            new AdmitRequest { Token = token, Model = "mock/gpt-4o-mini", RequestId = requestId, EstimatedPromptTokens = 100, MaxTokens = 100, MaxCostNanoUsd = TenCents },
            cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;
}
