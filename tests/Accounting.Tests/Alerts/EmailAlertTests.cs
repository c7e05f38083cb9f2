using Gateway.Aspire.Accounting.Alerts;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>
/// Email targets through a real SMTP exchange with a mail server on loopback (<see cref="SmtpReceiver"/>):
/// a budget threshold arrives once, a 4xx refusal is retried, a 5xx refusal is given up and recorded
/// (its marker and <c>gateway_alert_deliveries_total</c>).
/// </summary>
public sealed class EmailAlertTests(PostgresServerFixture postgres, RedisServerFixture redis)
{
    [Fact]
    public async Task ABudgetThreshold_ArrivesOnceAsAnEmail_ToEveryRecipient_WithSubjectAndBody()
    {
        await using var smtp = SmtpReceiver.Start();
        var database = await AlertHosts.EmptyRedisAsync(redis);
        using var config = await TestConfigFile.WriteAsync("""
            type: gateway-budget-config
            name: budgets
            rules:
              - id: ten-calls
                limit_to: 1
                unit: cost_per_day
                alerts:
                  thresholds: [50]
                  notification_target: [{ type: email, to: [ops@example.com, finance@example.com] }]
            """);
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 9, 12, 0, 0, TimeSpan.Zero));
        await using var policy = await AlertHosts.StartPolicyAsync(database, await postgres.CreateDatabaseAsync("policy"), config.Path, time);
        await using var accounting = await AccountingTestHost.StartAsync(await postgres.CreateDatabaseAsync("acct"), settings: Settings(database, smtp));
        var admission = new Admission.AdmissionClient(policy.Channel);
        var token = await AlertHosts.CreateTokenAsync(policy);

        // 0.1 USD each, one after another: the 5th reaches 50 %, the 11th is refused (100 %: on the feed, no email).
        for (var i = 0; i < 12; i++)
        {
            await AlertHosts.Admit(admission, token, $"r{i}");
        }

        var mail = Assert.Single(await smtp.WaitForAsync(1));
        Assert.Equal("gateway@example.com", mail.From);
        Assert.Equal(["ops@example.com", "finance@example.com"], mail.To);
        Assert.Equal(["ops@example.com", "finance@example.com"], mail.Message.To.Mailboxes.Select(m => m.Address));
        Assert.Equal("[gateway] model.budget.warning: ten-calls", mail.Message.Subject);
        Assert.StartsWith(
            "Budget 'ten-calls' reached 50%: 0.5 of 1 USD spent or reserved; the period ends 2030-01-10T00:00:00Z.",
            mail.Message.TextBody, StringComparison.Ordinal);
        Assert.Contains("\"threshold_percent\":50", mail.Message.TextBody, StringComparison.Ordinal);

        // Once every queued alert (the 100 % one too) is acknowledged, still exactly one email.
        await using var connection = await ConnectionMultiplexer.ConnectAsync(database);
        await AlertDispatcherTests.WaitUntilAsync(async () =>
            (await connection.GetDatabase().StreamGroupInfoAsync(AlertQueue.Stream)) is [{ PendingMessageCount: 0, EntriesRead: 2 }]);
        Assert.Single(smtp.Messages);
        Assert.Equal(1, smtp.Transactions);
        Assert.Equal($"{(await connection.GetDatabase().StreamRangeAsync(AlertQueue.Stream))[0].Id}.alert@gateway", mail.Message.MessageId);
    }

    [Fact]
    public async Task AServerRefusingWith4xx_IsRetried_UntilItAcceptsTheMessage()
    {
        await using var smtp = SmtpReceiver.Start();
        smtp.RefuseNextTransactions(2, "451 4.7.1 greylisted, try again later");
        var database = await AlertHosts.EmptyRedisAsync(redis);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(database);
        await using var host = await AccountingTestHost.StartAsync(await postgres.CreateDatabaseAsync("acct"), settings: Settings(database, smtp));
        using var deliveries = new DeliveryCounter(host);

        var id = await QueueAsync(connection, """[{"type":"email","to":["ops@example.com"]}]""");

        var mail = Assert.Single(await smtp.WaitForAsync(1));
        Assert.Equal(["ops@example.com"], mail.To);
        await AlertDispatcherTests.WaitUntilAsync(async () =>
            (await connection.GetDatabase().StreamGroupInfoAsync(AlertQueue.Stream)) is [{ PendingMessageCount: 0, EntriesRead: 1 }]);
        Assert.Equal(3, smtp.Transactions); // two refusals, then the delivery
        Assert.Equal((int)DeliveryResult.Delivered, (int)await connection.GetDatabase().StringGetAsync($"{AlertQueue.DeliveredKeyPrefix}{id}:0"));
        Assert.Equal((2, 1, 0), (deliveries["email", "retry"], deliveries["email", "delivered"], deliveries["email", "rejected"]));
    }

    [Fact]
    public async Task AServerRefusingWith5xx_IsGivenUpAfterOneAttempt_AndRecorded_WhileOtherTargetsStillGetTheirs()
    {
        await using var smtp = SmtpReceiver.Start();
        smtp.RefuseRecipient("nobody@example.com", "550 5.1.1 no such mailbox");
        var database = await AlertHosts.EmptyRedisAsync(redis);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(database);
        await using var host = await AccountingTestHost.StartAsync(await postgres.CreateDatabaseAsync("acct"), settings: Settings(database, smtp));
        using var deliveries = new DeliveryCounter(host);

        var id = await QueueAsync(connection, """[{"type":"email","to":["nobody@example.com"]},{"type":"email","to":["ops@example.com"]}]""");

        await AlertDispatcherTests.WaitUntilAsync(async () =>
            (await connection.GetDatabase().StreamGroupInfoAsync(AlertQueue.Stream)) is [{ PendingMessageCount: 0, EntriesRead: 1 }]);
        Assert.Equal(2, smtp.Transactions); // one per target: the refused one was not tried again
        Assert.Equal(["ops@example.com"], Assert.Single(smtp.Messages).To);
        Assert.Equal((int)DeliveryResult.Rejected, (int)await connection.GetDatabase().StringGetAsync($"{AlertQueue.DeliveredKeyPrefix}{id}:0"));
        Assert.Equal((int)DeliveryResult.Delivered, (int)await connection.GetDatabase().StringGetAsync($"{AlertQueue.DeliveredKeyPrefix}{id}:1"));
        Assert.Equal((1, 1, 0), (deliveries["email", "rejected"], deliveries["email", "delivered"], deliveries["email", "retry"]));
    }

    private static Dictionary<string, string?> Settings(string database, SmtpReceiver smtp)
    {
        var settings = AlertHosts.Settings(database);
        settings["Accounting:Alerts:Smtp:Host"] = "127.0.0.1";
        settings["Accounting:Alerts:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Accounting:Alerts:Smtp:EnableSsl"] = "false";
        settings["Accounting:Alerts:Smtp:From"] = "gateway@example.com";
        return settings;
    }

    private static async Task<RedisValue> QueueAsync(ConnectionMultiplexer connection, string targets) =>
        await connection.GetDatabase().StreamAddAsync(AlertQueue.Stream,
        [
            new(AlertQueue.Kind, AlertQueue.BudgetWarning), new(AlertQueue.Rule, "team-monthly"), new(AlertQueue.Scope, "team=research"),
            new(AlertQueue.Threshold, "75"), new(AlertQueue.Value, "7500000000"), new(AlertQueue.Limit, "10000000000"),
            new(AlertQueue.PeriodEnd, new DateTimeOffset(2030, 2, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()),
            new(AlertQueue.Time, new DateTimeOffset(2030, 1, 20, 9, 30, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()),
            new(AlertQueue.Targets, targets),
        ]);
}
