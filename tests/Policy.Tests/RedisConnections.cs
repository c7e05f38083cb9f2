using Gateway.Aspire.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Tests;

/// <summary>
/// A test's own empty Redis database and the connections to it: each connection stands for one
/// policy replica sharing that Redis. Disposing closes them all.
/// </summary>
internal sealed class RedisConnections : IAsyncDisposable
{
    private readonly List<ConnectionMultiplexer> _connections = [];
    private readonly string _database;

    private RedisConnections(string database) => _database = database;

    /// <summary>Takes the next database of <paramref name="redis"/> and empties it.</summary>
    public static async Task<RedisConnections> StartAsync(RedisServerFixture redis)
    {
        var connections = new RedisConnections(redis.NextDatabase());
        var connection = await connections.ConnectAsync();
        await connection.GetServers()[0].FlushDatabaseAsync(connection.GetDatabase().Database);
        return connections;
    }

    /// <summary>A new connection (admin commands allowed).</summary>
    public async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(_database + ",allowAdmin=true");
        _connections.Add(connection);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }
}
