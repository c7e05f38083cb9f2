using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.ServiceDefaults.Billing;
using Gateway.Aspire.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PolicyServices = Gateway.Aspire.Policy.Extensions.ApplicationServiceExtensions;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>
/// Settings and helpers the alert tests share: a fast-polling accounting host on a test's own Redis
/// database, and a policy host whose admissions raise budget alerts.
/// </summary>
internal static class AlertHosts
{
    private const string AdminKey = "test-admin-key-0123456789";

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

    /// <summary>Policy (admission and tokens) on <paramref name="redis"/> with the budgets of <paramref name="config"/>.</summary>
    public static Task<GrpcServiceTestHost> StartPolicyAsync(string redis, string gatewaydb, string config, TimeProvider time) =>
        GrpcServiceTestHost.StartAsync(
            typeof(AdmissionService).Assembly,
            new Dictionary<string, string?>
            {
                ["ConnectionStrings:redis"] = redis,
                ["ConnectionStrings:gatewaydb"] = gatewaydb,
                [AdminKeyOptions.ConfigurationKey] = AdminKey,
                ["GATEWAY_CONFIG"] = config,
            },
            builder =>
            {
                PolicyServices.AddApplicationServices(builder);
                builder.Services.AddSingleton(time);
            },
            app =>
            {
                app.MapGrpcService<AdmissionService>();
                app.MapGrpcService<TokensService>();
            });

    /// <summary>A new token, issued with the admin key.</summary>
    public static async Task<string> CreateTokenAsync(GrpcServiceTestHost policy) =>
        (await new Tokens.TokensClient(policy.Channel).CreateTokenAsync(
            new CreateTokenRequest { Name = "burst" }, new global::Grpc.Core.Metadata { { "authorization", "Bearer " + AdminKey } },
            cancellationToken: TestContext.Current.CancellationToken)).Token;

    /// <summary>One admission reserving 0.1 USD.</summary>
    public static Task<AdmitReply> Admit(Admission.AdmissionClient admission, string token, string requestId) =>
        admission.AdmitAsync(
            new AdmitRequest { Token = token, Model = "mock/gpt-4o-mini", RequestId = requestId, MaxCostNanoUsd = NanoUsd.PerUsd / 10 },
            cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;
}

/// <summary>A <c>gateway.yaml</c> in a directory of its own, removed on dispose.</summary>
internal sealed class TestConfigFile : IDisposable
{
    private readonly string _directory;

    private TestConfigFile(string directory) => (_directory, Path) = (directory, System.IO.Path.Combine(directory, "gateway.yaml"));

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Writes <paramref name="yaml"/> to a new file.</summary>
    public static async Task<TestConfigFile> WriteAsync(string yaml)
    {
        var file = new TestConfigFile(TestDirectories.Create("alerts-config"));
        await File.WriteAllTextAsync(file.Path, yaml, TestContext.Current.CancellationToken);
        return file;
    }

    public void Dispose() => TestDirectories.Delete(_directory);
}
