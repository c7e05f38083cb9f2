using System.Text.Json;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.ServiceDefaults.Billing;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Tests.Budgets;

/// <summary>
/// Budget alerts queued by the admission script on <see cref="AlertQueue.Stream"/>: one entry per
/// threshold, scope and period, over concurrent calls, two replicas and a restart of both.
/// </summary>
public sealed class BudgetAlertQueueTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private const long TenCents = NanoUsd.PerUsd / 10;

    private const string Config = """
        type: gateway-budget-config
        name: budgets
        daily_limit_usd: 10
        warning_threshold_percent: 5
        notification_target: [{ type: webhook, url: "http://127.0.0.1:9/global" }]
        rules:
          - id: alert-burst
            when: { subjects: ["virtualaccount:alert-burst"] }
            limit_to: 1
            unit: cost_per_day
            alerts:
              thresholds: [50, 100]
              notification_target:
                - { type: webhook, url: "http://127.0.0.1:9/hook" }
                - { type: slack-webhook, url: "${SLACK_URL}" }
                - { type: email, to: [ops@example.com] }
          - id: alert-soft
            when: { subjects: ["virtualaccount:alert-soft"] }
            limit_to: 0.2
            unit: cost_per_day
            mode: soft
          - id: alert-team
            when: { subjects: ["team:alert-red", "team:alert-blue"] }
            limit_to: 0.2
            unit: cost_per_day
            budget_applies_per: [team]
            alerts: { thresholds: [50] }
        """;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 9, 12, 0, 0, TimeSpan.Zero));
    private string _redis = "";
    private string _database = "";
    private string _directory = "";
    private readonly List<PolicyTestHost> _hosts = [];
    private ConnectionMultiplexer? _connection;

    public async ValueTask InitializeAsync()
    {
        _redis = redis.NextDatabase();
        _database = await postgres.CreateDatabaseAsync("policy");
        _directory = TestDirectories.Create("policy-alerts");
        await File.WriteAllTextAsync(Path.Combine(_directory, "gateway.yaml"), Config, TestContext.Current.CancellationToken);
        _connection = await ConnectionMultiplexer.ConnectAsync(_redis);
        await StartReplicasAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopReplicasAsync();
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        TestDirectories.Delete(_directory);
    }

    [Fact]
    public async Task ConcurrentAdmitsOverTwoReplicas_QueueEachThresholdOnce_AlsoAfterARestart_AndAgainNextPeriod()
    {
        var token = (await _hosts[0].CreateTokenAsync("alert-burst")).Token;

        var replies = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Admit(_hosts[i % 2], token, $"b{i}")));
        Assert.Equal(10, replies.Count(r => r.Decision == AdmitDecision.Allowed));

        var entries = await EntriesAsync("alert-burst");
        Assert.Equal([("model.budget.warning", "50"), ("model.budget.exceeded", "100")], entries.Select(e => (e[AlertQueue.Kind], e[AlertQueue.Threshold])));
        var warning = entries[0];
        Assert.Equal("", warning[AlertQueue.Scope]);
        Assert.Equal(NanoUsd.PerUsd.ToString(System.Globalization.CultureInfo.InvariantCulture), warning[AlertQueue.Limit]);
        Assert.Equal(new DateTimeOffset(2030, 1, 10, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture), warning[AlertQueue.PeriodEnd]);
        Assert.True(long.Parse(warning[AlertQueue.Value], System.Globalization.CultureInfo.InvariantCulture) >= NanoUsd.PerUsd / 2);
        using (var targets = JsonDocument.Parse(warning[AlertQueue.Targets]))
        {
            Assert.Equal(
                ["webhook http://127.0.0.1:9/hook", "slack-webhook ${SLACK_URL}", "email ops@example.com"],
                targets.RootElement.EnumerateArray().Select(t => t.GetProperty("type").GetString() + " "
                    + (t.TryGetProperty("url", out var url) ? url.GetString() : t.GetProperty("to")[0].GetString())));
        }

        // Both replicas restart: the flags live in Redis, so refused calls raise nothing new.
        await StopReplicasAsync();
        await StartReplicasAsync();
        Assert.Equal(AdmitDecision.BudgetExceeded, (await Admit(_hosts[1], token, "after-restart")).Decision);
        Assert.Equal(2, (await EntriesAsync("alert-burst")).Count);

        // A new day is a new period: its thresholds alert again.
        _time.Advance(TimeSpan.FromHours(12));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(AdmitDecision.Allowed, (await Admit(_hosts[i % 2], token, $"d2-{i}")).Decision);
        }

        Assert.Equal(["50", "100", "50"], (await EntriesAsync("alert-burst")).Select(e => e[AlertQueue.Threshold]));
    }

    [Fact]
    public async Task SoftBudget_QueuesExceededOnce_WithoutTargets_AndPerTeamBudgetsAlertPerTeam()
    {
        var soft = (await _hosts[0].CreateTokenAsync("alert-soft")).Token;
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(AdmitDecision.Allowed, (await Admit(_hosts[i % 2], soft, $"s{i}")).Decision);
        }

        var exceeded = Assert.Single(await EntriesAsync("alert-soft"));
        Assert.Equal(("model.budget.exceeded", "100", "[]"), (exceeded[AlertQueue.Kind], exceeded[AlertQueue.Threshold], exceeded[AlertQueue.Targets]));

        foreach (var team in new[] { "alert-red", "alert-blue" })
        {
            await _hosts[0].CreateTeamAsync(team);
            var token = (await _hosts[0].CreateTokenAsync(new CreateTokenRequest { Name = team + "-app", Team = team, Models = { "mock/gpt-4o-mini" } })).Token;
            Assert.Equal(AdmitDecision.Allowed, (await Admit(_hosts[0], token, team)).Decision);
        }

        Assert.Equal(["team=alert-red", "team=alert-blue"], (await EntriesAsync("alert-team")).Select(e => e[AlertQueue.Scope]));
        // The global daily limit (10 USD, warning at 5 %) saw 0.6 USD.
        var global = Assert.Single(await EntriesAsync("daily_limit_usd"));
        Assert.Equal(("model.budget.warning", "5"), (global[AlertQueue.Kind], global[AlertQueue.Threshold]));
    }

    [Fact]
    public async Task OnAServerWithoutStreams_AdmissionsGoOn_AndNoThresholdIsMarkedRaised()
    {
        var ct = TestContext.Current.CancellationToken;
        var directory = TestDirectories.Create("redis-no-streams");
        try
        {
            await using var server = await StreamlessRedisServer.StartAsync(directory, ct);
            await using var host = await PolicyTestHost.StartAsync(
                server.ConnectionString, _database, time: _time, gatewayConfig: Path.Combine(_directory, "gateway.yaml"));
            var token = (await host.CreateTokenAsync("alert-burst")).Token;

            var decisions = new List<AdmitDecision>();
            for (var i = 0; i < 12; i++)
            {
                decisions.Add((await Admit(host, token, $"ns{i}")).Decision);
            }

            // The 50 % level is crossed at the 5th call and the hard limit refuses from the 11th: both
            // would raise alerts, and neither fails the call.
            Assert.Equal([.. Enumerable.Repeat(AdmitDecision.Allowed, 10), AdmitDecision.BudgetExceeded, AdmitDecision.BudgetExceeded], decisions);
            await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
            var flags = connection.GetServers()[0].Keys(pattern: "policy:budget-alert:*").ToList();
            Assert.Empty(flags);
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    private async Task<List<Dictionary<string, string>>> EntriesAsync(string rule)
    {
        var entries = await _connection!.GetDatabase().StreamRangeAsync(AlertQueue.Stream);
        return [.. entries
            .Select(e => e.Values.ToDictionary(v => v.Name.ToString(), v => v.Value.ToString()))
            .Where(e => e[AlertQueue.Rule] == rule)];
    }

    private async Task StartReplicasAsync()
    {
        var config = Path.Combine(_directory, "gateway.yaml");
        _hosts.Add(await PolicyTestHost.StartAsync(_redis, _database, time: _time, gatewayConfig: config));
        _hosts.Add(await PolicyTestHost.StartAsync(_redis, _database, time: _time, gatewayConfig: config));
    }

    private async Task StopReplicasAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        _hosts.Clear();
    }

    private static Task<AdmitReply> Admit(PolicyTestHost host, string token, string requestId) =>
        host.Admission.AdmitAsync(
            new AdmitRequest { Token = token, Model = "mock/gpt-4o-mini", RequestId = requestId, EstimatedPromptTokens = 100, MaxTokens = 100, MaxCostNanoUsd = TenCents },
            cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;
}
