using Gateway.Aspire.Accounting.Alerts;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Tests.Ledger;
using Gateway.Aspire.Testing;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>Error-rate and latency rules evaluated from the ledger: one alert per breach, re-armed after recovery.</summary>
public sealed class ModelAlertEvaluatorTests(PostgresServerFixture postgres, RedisServerFixture redis)
{
    [Fact]
    public async Task ErrorRateOver5Percent_AlertsOnce_ThenAgainOnlyAfterRecovering()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var directory = TestDirectories.Create("model-alerts");
        try
        {
            var config = Path.Combine(directory, "gateway.yaml");
            await File.WriteAllTextAsync(config, $$"""
                type: gateway-alerts-config
                name: slo
                rules:
                  - id: chat-health
                    models: [mock/chat]
                    error_rate_above_percent: 5
                    p95_latency_above_ms: 5000
                    window_minutes: 5
                    min_requests: 10
                    notification_target: [{ type: webhook, url: "{{receiver.Url}}/slo" }]
                """, TestContext.Current.CancellationToken);
            await using var host = await AccountingTestHost.StartAsync(
                await postgres.CreateDatabaseAsync("acct"), settings: AlertHosts.Settings(await AlertHosts.EmptyRedisAsync(redis), config));
            var evaluator = host.Services.GetRequiredService<ModelAlertEvaluator>();
            var now = DateTimeOffset.UtcNow;

            // 20 calls, 2 failed (10 %), fast; another model failing is not watched.
            await RecordAsync(host, now.AddMinutes(-2), "a", "mock/chat", count: 20, failed: 2);
            await RecordAsync(host, now.AddMinutes(-2), "b", "mock/other", count: 20, failed: 20);

            Assert.Equal(1, await evaluator.EvaluateAsync(now, TestContext.Current.CancellationToken));
            Assert.Equal(0, await evaluator.EvaluateAsync(now.AddSeconds(30), TestContext.Current.CancellationToken));
            var alert = Assert.Single(await receiver.WaitForAsync("/slo", 1));
            Assert.Equal(("model.alert.error_rate", "chat-health", "model=mock/chat"),
                (alert.GetProperty("type").GetString(), alert.GetProperty("rule").GetString(), alert.GetProperty("scope").GetString()));
            Assert.Equal(("error_rate_percent", 10m, 5m, 300, 20),
                (alert.GetProperty("metric").GetString(), alert.GetProperty("value").GetDecimal(), alert.GetProperty("threshold").GetDecimal(),
                    alert.GetProperty("window_seconds").GetInt32(), alert.GetProperty("requests").GetInt32()));

            // 30 good calls: 2 of 50 is 4 %, recovered (re-armed) ...
            await RecordAsync(host, now.AddMinutes(-1), "c", "mock/chat", count: 30, failed: 0);
            Assert.Equal(0, await evaluator.EvaluateAsync(now.AddSeconds(40), TestContext.Current.CancellationToken));
            // ... so the next breach alerts again.
            await RecordAsync(host, now.AddSeconds(-30), "d", "mock/chat", count: 10, failed: 10);
            Assert.Equal(1, await evaluator.EvaluateAsync(now.AddSeconds(50), TestContext.Current.CancellationToken));
            Assert.Equal(2, (await receiver.WaitForAsync("/slo", 2)).Count);
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    [Fact]
    public async Task P95LatencyOver5Seconds_Alerts_UsingTimeToFirstTokenForStreams()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var directory = TestDirectories.Create("model-alerts");
        try
        {
            var config = Path.Combine(directory, "gateway.yaml");
            await File.WriteAllTextAsync(config, $$"""
                type: gateway-alerts-config
                rules:
                  - id: slow
                    p95_latency_above_ms: 5000
                    min_requests: 10
                    notification_target: [{ type: slack-webhook, url: "{{receiver.Url}}/slack" }]
                """, TestContext.Current.CancellationToken);
            await using var host = await AccountingTestHost.StartAsync(
                await postgres.CreateDatabaseAsync("acct"), settings: AlertHosts.Settings(await AlertHosts.EmptyRedisAsync(redis), config));
            var evaluator = host.Services.GetRequiredService<ModelAlertEvaluator>();
            var now = DateTimeOffset.UtcNow;

            // Long streams with a quick first token are healthy; slow answers are not.
            await RecordAsync(host, now.AddMinutes(-1), "s", "mock/stream", count: 20, failed: 0, latencyMs: 60_000, ttftMs: 300);
            await RecordAsync(host, now.AddMinutes(-1), "j", "mock/slow", count: 20, failed: 0, latencyMs: 8_000);

            Assert.Equal(1, await evaluator.EvaluateAsync(now, TestContext.Current.CancellationToken));
            var slack = Assert.Single(await receiver.WaitForAsync("/slack", 1));
            Assert.Equal(
                ":rotating_light: Alert 'slow' (model=mock/slow): p95 latency 8000 ms over the last 5 min (20 requests), above 5000 ms.",
                slack.GetProperty("text").GetString());
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    internal static async Task RecordAsync(
        AccountingTestHost host, DateTimeOffset at, string prefix, string model, int count, int failed, double latencyMs = 200, double ttftMs = 0)
    {
        var request = new RecordUsageRequest();
        for (var i = 0; i < count; i++)
        {
            var record = LedgerEntryTests.Valid($"{prefix}-{i}");
            record.StartedAt = Timestamp.FromDateTimeOffset(at.AddMilliseconds(i));
            record.ServedModel = record.RequestedModel = model;
            record.StatusCode = i < failed ? 502 : 200;
            record.LatencyMs = latencyMs;
            record.Streamed = ttftMs > 0;
            record.TimeToFirstTokenMs = ttftMs;
            request.Records.Add(record);
        }

        await host.Ledger.RecordAsync(request, cancellationToken: TestContext.Current.CancellationToken);
    }
}
