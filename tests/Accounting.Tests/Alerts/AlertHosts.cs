using Gateway.Aspire.Testing;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>Settings and helpers the alert tests share: a fast-polling accounting host on a test's own Redis database.</summary>
internal static class AlertHosts
{
    /// <summary>Accounting settings: Redis, quick polls and retries (milliseconds, not the seconds of production).</summary>
    public static Dictionary<string, string?> Settings(string redis, string? gatewayConfig = null) => new()
    {
        ["ConnectionStrings:redis"] = redis,
        ["GATEWAY_CONFIG"] = gatewayConfig,
        ["Accounting:Alerts:PollInterval"] = "00:00:00.050",
        ["Accounting:Alerts:RetryDelay"] = "00:00:00.050",
        ["Accounting:Alerts:MaxRetryDelay"] = "00:00:00.200",
        ["Accounting:Alerts:ClaimIdle"] = "00:00:05",
        ["Accounting:Alerts:EvaluationInterval"] = "01:00:00",
        ["ALERT_HOOK_BASE"] = null,
    };

    /// <summary>A database of <paramref name="redis"/> no other test uses, emptied.</summary>
    public static async Task<string> EmptyRedisAsync(RedisServerFixture redis)
    {
        var database = redis.NextDatabase();
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(database + ",allowAdmin=true");
        await connection.GetServers()[0].FlushDatabaseAsync(connection.GetDatabase().Database);
        return database;
    }
}
