using System.Text.Json;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.ServiceDefaults.Data;
using Gateway.Aspire.ServiceDefaults.Events;
using Gateway.Aspire.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>Delivery of queued alerts: retries until the webhook answers 200, Slack's body, the event feed, email without SMTP.</summary>
public sealed class AlertDispatcherTests(PostgresServerFixture postgres, RedisServerFixture redis)
{
    [Fact]
    public async Task QueuedBudgetWarning_IsRetriedUntil200_SentToSlackOnce_AndPublishedOnTheEventFeedOnce()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.FailFirst("/hook", 2);
        var database = await AlertHosts.EmptyRedisAsync(redis);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(database);
        var published = new List<string>();
        await connection.GetSubscriber().SubscribeAsync(RedisChannels.For(connection, GatewayEventChannel.Channel), (_, message) =>
        {
            lock (published)
            {
                published.Add(message.ToString());
            }
        });

        var settings = AlertHosts.Settings(database);
        settings["SLACK_PATH"] = "slack";
        await using var host = await AccountingTestHost.StartAsync(await postgres.CreateDatabaseAsync("acct"), settings: settings);
        var id = await connection.GetDatabase().StreamAddAsync(AlertQueue.Stream,
        [
            new(AlertQueue.Kind, AlertQueue.BudgetWarning), new(AlertQueue.Rule, "team-monthly"), new(AlertQueue.Scope, "team=research"),
            new(AlertQueue.Threshold, "75"), new(AlertQueue.Value, "7500000000"), new(AlertQueue.Limit, "10000000000"),
            new(AlertQueue.PeriodEnd, new DateTimeOffset(2030, 2, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()),
            new(AlertQueue.Time, new DateTimeOffset(2030, 1, 20, 9, 30, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()),
            new(AlertQueue.Targets, $$"""[{"type":"webhook","url":"{{receiver.Url}}/hook"},{"type":"slack-webhook","url":"{{receiver.Url}}/${SLACK_PATH}"},{"type":"email","to":["ops@example.com"]}]"""),
        ]);

        var calls = await receiver.WaitForAsync("/hook", 3);
        Assert.Equal(3, calls.Count); // two 500s, then 200
        Assert.All(calls, c => Assert.Equal(id.ToString(), c.GetProperty("id").GetString()));
        var body = calls[^1];
        Assert.Equal("model.budget.warning", body.GetProperty("type").GetString());
        Assert.Equal("2030-01-20T09:30:00Z", body.GetProperty("time").GetString());
        Assert.Equal(("team-monthly", "team=research", 75), (body.GetProperty("rule").GetString(), body.GetProperty("scope").GetString(), body.GetProperty("threshold_percent").GetInt32()));
        Assert.Equal((7.5m, 10m), (body.GetProperty("spent_usd").GetDecimal(), body.GetProperty("limit_usd").GetDecimal()));
        Assert.Equal("2030-02-01T00:00:00Z", body.GetProperty("period_end").GetString());

        var slack = Assert.Single(await receiver.WaitForAsync("/slack", 1));
        Assert.Equal(
            ":warning: Budget 'team-monthly' (team=research) reached 75%: 7.5 of 10 USD spent or reserved; the period ends 2030-02-01T00:00:00Z.",
            Assert.Single(slack.EnumerateObject(), p => p.Name == "text").Value.GetString());
        Assert.Single(slack.EnumerateObject());

        // Acknowledged once every target is done (email without an SMTP server is logged and skipped).
        await WaitUntilAsync(async () => (await connection.GetDatabase().StreamPendingAsync(AlertQueue.Stream, AlertQueue.Group)).PendingMessageCount == 0
            && (await connection.GetDatabase().StreamGroupInfoAsync(AlertQueue.Stream)).Single().LastDeliveredId == id);
        var events = await connection.GetDatabase().StreamRangeAsync(GatewayEventChannel.Stream);
        using var feedEvent = JsonDocument.Parse(Assert.Single(events)["event"].ToString());
        Assert.Equal("model.budget.warning", feedEvent.RootElement.GetProperty("type").GetString());
        Assert.Equal(id.ToString(), feedEvent.RootElement.GetProperty("id").GetString());
        Assert.Equal(("research", "team-monthly", 75), (feedEvent.RootElement.GetProperty("team").GetString(),
            feedEvent.RootElement.GetProperty("rule").GetString(), feedEvent.RootElement.GetProperty("threshold_percent").GetInt32()));
        // Pub/sub channels ignore the Redis database number: alerts of tests running beside this one
        // arrive here too, so only this alert's messages count.
        bool Ours(string message) => message.Contains($"\"id\":\"{id}\"", StringComparison.Ordinal);
        List<string> Received() { lock (published) { return [.. published]; } }
        await WaitUntilAsync(() => Task.FromResult(Received().Exists(Ours)));
        Assert.Single(Received(), Ours);
        Assert.Equal(3, receiver.Calls("/hook").Count);
        Assert.Single(receiver.Calls("/slack"));
    }

    [Fact]
    public async Task AWebhookAnswering400_IsGivenUp_AndTheEntryAcknowledged()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var database = await AlertHosts.EmptyRedisAsync(redis);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(database);
        await using var host = await AccountingTestHost.StartAsync(await postgres.CreateDatabaseAsync("acct"), settings: AlertHosts.Settings(database));

        await connection.GetDatabase().StreamAddAsync(AlertQueue.Stream,
        [
            new(AlertQueue.Kind, AlertQueue.BudgetExceeded), new(AlertQueue.Rule, "r"), new(AlertQueue.Threshold, "100"),
            new(AlertQueue.Time, 0), new(AlertQueue.Targets, """[{"type":"webhook","url":"${UNSET_ALERT_URL}"}]"""),
        ]);

        await WaitUntilAsync(async () => (await connection.GetDatabase().StreamGroupInfoAsync(AlertQueue.Stream)) is [{ PendingMessageCount: 0, EntriesRead: 1 }]);
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 300; i++)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (RedisServerException)
            {
                // The group does not exist yet.
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.Fail("The condition did not hold within 15 s.");
    }
}
