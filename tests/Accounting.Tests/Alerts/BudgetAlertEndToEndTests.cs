using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>
/// Budget alerts end to end: policy's admissions raise them, accounting delivers them to a local
/// webhook — each threshold exactly once, under 100 concurrent calls and across a restart of accounting.
/// </summary>
public sealed class BudgetAlertEndToEndTests(PostgresServerFixture postgres, RedisServerFixture redis)
{
    [Fact]
    public async Task Thresholds50And100_ReachTheWebhookOnceEach_UnderConcurrency_AndAfterAnAccountingRestart()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var database = await AlertHosts.EmptyRedisAsync(redis);
        var directory = TestDirectories.Create("budget-alerts");
        try
        {
            var config = Path.Combine(directory, "gateway.yaml");
            await File.WriteAllTextAsync(config, $$"""
                type: gateway-budget-config
                name: budgets
                rules:
                  - id: ten-calls
                    limit_to: 1
                    unit: cost_per_day
                    alerts:
                      thresholds: [50, 100]
                      notification_target: [{ type: webhook, url: "{{receiver.Url}}/budget" }]
                """, TestContext.Current.CancellationToken);
            var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 9, 12, 0, 0, TimeSpan.Zero));
            await using var policy = await AlertHosts.StartPolicyAsync(database, await postgres.CreateDatabaseAsync("policy"), config, time);
            var accountingDb = await postgres.CreateDatabaseAsync("acct");
            var accounting = await AccountingTestHost.StartAsync(accountingDb, settings: AlertHosts.Settings(database));
            try
            {
                var admission = new Admission.AdmissionClient(policy.Channel);
                var token = await AlertHosts.CreateTokenAsync(policy);

                var replies = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => AlertHosts.Admit(admission, token, $"r{i}")));
                Assert.Equal(10, replies.Count(r => r.Decision == AdmitDecision.Allowed));

                var calls = await receiver.WaitForAsync("/budget", 2);
                Assert.Equal(
                    [("model.budget.warning", 50), ("model.budget.exceeded", 100)],
                    calls.Select(c => (c.GetProperty("type").GetString(), c.GetProperty("threshold_percent").GetInt32())).OrderBy(c => c.Item2));

                // Accounting restarts; refused calls go on; nothing is delivered again.
                await accounting.DisposeAsync();
                accounting = await AccountingTestHost.StartAsync(accountingDb, settings: AlertHosts.Settings(database));
                for (var i = 0; i < 5; i++)
                {
                    Assert.Equal(AdmitDecision.BudgetExceeded, (await AlertHosts.Admit(admission, token, $"late{i}")).Decision);
                }

                await using var connection = await ConnectionMultiplexer.ConnectAsync(database);
                // A sentinel queued after the refusals: once the restarted replica delivered it, it has read everything before it.
                await connection.GetDatabase().StreamAddAsync(AlertQueue.Stream,
                [
                    new(AlertQueue.Kind, AlertQueue.BudgetWarning), new(AlertQueue.Rule, "sentinel"), new(AlertQueue.Time, 0),
                    new(AlertQueue.Targets, $$"""[{"type":"webhook","url":"{{receiver.Url}}/sentinel"}]"""),
                ]);
                Assert.Single(await receiver.WaitForAsync("/sentinel", 1));
                Assert.Equal(3, (await connection.GetDatabase().StreamRangeAsync(AlertQueue.Stream)).Length);
                Assert.Equal(2, receiver.Calls("/budget").Count);

                // The next day is a new period: its 50 % alerts again, once.
                time.Advance(TimeSpan.FromHours(12));
                for (var i = 0; i < 5; i++)
                {
                    Assert.Equal(AdmitDecision.Allowed, (await AlertHosts.Admit(admission, token, $"next{i}")).Decision);
                }

                Assert.Equal(3, (await receiver.WaitForAsync("/budget", 3)).Count);
            }
            finally
            {
                await accounting.DisposeAsync();
            }
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }
}
