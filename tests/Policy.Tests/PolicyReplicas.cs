using Gateway.Aspire.Testing;

namespace Gateway.Aspire.Policy.Tests;

/// <summary>Two policy services sharing one Redis and one PostgreSQL database, one gateway.yaml and one clock: two replicas.</summary>
internal sealed class PolicyReplicas : IAsyncDisposable
{
    private readonly List<PolicyTestHost> _hosts = [];

    private PolicyReplicas(string directory) => Directory = directory;

    /// <summary>The folder holding gateway.yaml (tests may write other files there).</summary>
    public string Directory { get; }

    public PolicyTestHost First => _hosts[0];

    public PolicyTestHost Second => _hosts[1];

    /// <summary>Writes <paramref name="gatewayYaml"/> and starts both replicas on it.</summary>
    public static async Task<PolicyReplicas> StartAsync(
        PostgresServerFixture postgres, RedisServerFixture redis, TimeProvider time, string name, string gatewayYaml)
    {
        var database = await postgres.CreateDatabaseAsync("policy");
        var redisDb = redis.NextDatabase();
        var replicas = new PolicyReplicas(TestDirectories.Create(name));
        var config = Path.Combine(replicas.Directory, "gateway.yaml");
        await File.WriteAllTextAsync(config, gatewayYaml, TestContext.Current.CancellationToken);
        try
        {
            replicas._hosts.Add(await PolicyTestHost.StartAsync(redisDb, database, time: time, gatewayConfig: config));
            replicas._hosts.Add(await PolicyTestHost.StartAsync(redisDb, database, time: time, gatewayConfig: config));
        }
        catch
        {
            await replicas.DisposeAsync();
            throw;
        }

        return replicas;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        TestDirectories.Delete(Directory);
    }
}
