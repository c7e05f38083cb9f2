using Gateway.Aspire.Testing;

namespace Gateway.Aspire.Policy.Tests;

/// <summary>Two policy services sharing one Redis and one PostgreSQL database, one gateway.yaml and one clock: two replicas.</summary>
internal sealed class PolicyReplicas : IAsyncDisposable
{
    private readonly List<PolicyTestHost> _hosts = [];
    private string _database = "";
    private string? _config;
    private TimeProvider? _time;

    private PolicyReplicas(string directory, string redis)
    {
        Directory = directory;
        Redis = redis;
    }

    /// <summary>The folder holding gateway.yaml (tests may write other files there).</summary>
    public string Directory { get; }

    /// <summary>The connection string of the Redis database both replicas share.</summary>
    public string Redis { get; }

    public PolicyTestHost First => _hosts[0];

    public PolicyTestHost Second => _hosts[1];

    /// <summary>Writes <paramref name="gatewayYaml"/> (when given; else no GATEWAY_CONFIG) and starts both replicas on it.</summary>
    public static async Task<PolicyReplicas> StartAsync(
        PostgresServerFixture postgres, RedisServerFixture redis, TimeProvider time, string name, string? gatewayYaml = null)
    {
        var database = await postgres.CreateDatabaseAsync("policy");
        var replicas = new PolicyReplicas(TestDirectories.Create(name), redis.NextDatabase());
        string? config = null;
        try
        {
            if (gatewayYaml is not null)
            {
                config = Path.Combine(replicas.Directory, "gateway.yaml");
                await File.WriteAllTextAsync(config, gatewayYaml, TestContext.Current.CancellationToken);
            }

            (replicas._database, replicas._config, replicas._time) = (database, config, time);
            await replicas.AddReplicaAsync();
            await replicas.AddReplicaAsync();
        }
        catch
        {
            await replicas.DisposeAsync();
            throw;
        }

        return replicas;
    }

    /// <summary>Starts one more replica on the same Redis, database, gateway.yaml and clock (disposed with the others).</summary>
    public async Task<PolicyTestHost> AddReplicaAsync()
    {
        var host = await PolicyTestHost.StartAsync(Redis, _database, time: _time, gatewayConfig: _config);
        _hosts.Add(host);
        return host;
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
