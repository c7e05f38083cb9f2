using Gateway.Aspire.Accounting.Alerts;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>Error-rate and latency rules follow the live configuration: a publish changes which alerts fire, without a restart.</summary>
public sealed class ModelAlertLiveConfigTests(PostgresServerFixture postgres, RedisServerFixture redis)
{
    [Fact]
    public async Task APublishedRuleReplacesTheFilesRules_AndAnInvalidPublishKeepsThemInForce()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var config = await TestConfigFile.WriteAsync($$"""
            type: gateway-alerts-config
            name: slo
            rules:
              - id: errors
                error_rate_above_percent: 5
                min_requests: 10
                notification_target: [{ type: webhook, url: "{{receiver.Url}}/errors" }]
            """);
        var database = await AlertHosts.EmptyRedisAsync(redis);
        await using var live = await LiveConfigWriter.ConnectAsync(database);
        await using var host = await AccountingTestHost.StartAsync(await postgres.CreateDatabaseAsync("acct"), settings: AlertHosts.Settings(database, config.Path));
        var evaluator = host.Services.GetRequiredService<ModelAlertEvaluator>();
        var rules = host.Services.GetRequiredService<LiveConfig<IReadOnlyList<ModelAlertRule>>>();
        var now = DateTimeOffset.UtcNow;

        // One model failing, one slow: the file's rule sees only the failures.
        await ModelAlertEvaluatorTests.RecordAsync(host, now.AddMinutes(-1), "f", "mock/failing", count: 20, failed: 4);
        await ModelAlertEvaluatorTests.RecordAsync(host, now.AddMinutes(-1), "s", "mock/slow", count: 20, failed: 0, latencyMs: 8_000);
        Assert.Equal(1, await evaluator.EvaluateAsync(now, TestContext.Current.CancellationToken));
        Assert.Equal("model=mock/failing", Assert.Single(await receiver.WaitForAsync("/errors", 1)).GetProperty("scope").GetString());

        // Applied: the error rule is gone, a latency rule takes its place.
        await live.PublishAsync(1, $$"""
            type: gateway-alerts-config
            name: slo
            rules:
              - id: latency
                p95_latency_above_ms: 5000
                min_requests: 10
                notification_target: [{ type: webhook, url: "{{receiver.Url}}/latency" }]
            """);
        await LiveConfigWriter.UntilAsync(() => Task.FromResult(rules.Version == 1), "accounting loads version 1");
        Assert.Equal(1, await evaluator.EvaluateAsync(now.AddSeconds(30), TestContext.Current.CancellationToken));
        Assert.Equal("model=mock/slow", Assert.Single(await receiver.WaitForAsync("/latency", 1)).GetProperty("scope").GetString());

        // An invalid document (an unknown field) is refused: the latency rule stays and still fires for a new slow model.
        await live.PublishAsync(2, $$"""
            type: gateway-alerts-config
            name: slo
            rules:
              - id: latency
                p99_latency_above_ms: 5000
                notification_target: [{ type: webhook, url: "{{receiver.Url}}/latency" }]
            """);
        var subscriber = host.Services.GetRequiredService<LiveConfigSubscriber<IReadOnlyList<ModelAlertRule>>>();
        await LiveConfigWriter.UntilAsync(() => Task.FromResult(subscriber.RejectedVersion == 2), "accounting refuses version 2");
        Assert.Equal((1L, "latency"), (rules.Version, Assert.Single(rules.Current).Id));
        await ModelAlertEvaluatorTests.RecordAsync(host, now.AddSeconds(35), "t", "mock/slower", count: 20, failed: 20, latencyMs: 9_000);
        Assert.Equal(1, await evaluator.EvaluateAsync(now.AddSeconds(40), TestContext.Current.CancellationToken));
        Assert.Equal(["model=mock/slow", "model=mock/slower"],
            (await receiver.WaitForAsync("/latency", 2)).Select(a => a.GetProperty("scope").GetString()));
        Assert.Single(receiver.Calls("/errors"));
    }
}
