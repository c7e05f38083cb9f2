using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Testing;
using Npgsql;

namespace Gateway.Aspire.AppHost.Tests.Servers;

/// <summary>The local Redis and PostgreSQL launchers the AppHost and every fixture rely on.</summary>
public sealed class ServerLauncherTests
{
    [Fact]
    public async Task Redis_answers_and_leaves_no_process_after_stop()
    {
        var directory = TestDirectories.Create("redis-launcher");
        try
        {
            var server = await RedisServer.StartAsync(
                new RedisServerOptions { DataDirectory = directory, Output = TextWriter.Null, ToolManifestDirectory = RepositoryRoot.Find() },
                TestContext.Current.CancellationToken);
            var pid = server.ProcessId;

            Assert.True(await RedisServer.PingAsync(server.Port, TestContext.Current.CancellationToken));

            await server.StopAsync();
            Assert.False(Directory.Exists($"/proc/{pid}"), "the Redis process is still running after StopAsync");
            Assert.False(await FreePort.IsListeningAsync(server.Port, TestContext.Current.CancellationToken));
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    [Fact]
    public async Task Garnet_is_the_fallback_without_redis_server_and_runs_Lua()
    {
        var directory = TestDirectories.Create("garnet-launcher");
        try
        {
            await using var server = await RedisServer.StartAsync(
                new RedisServerOptions
                {
                    DataDirectory = directory,
                    Output = TextWriter.Null,
                    ToolManifestDirectory = RepositoryRoot.Find(),
                    UseRedisServerFromPath = false,
                },
                TestContext.Current.CancellationToken);

            Assert.Equal("garnet-server", server.Kind);
            await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
            var result = await redis.GetDatabase().ScriptEvaluateAsync("return redis.call('INCRBY', KEYS[1], ARGV[1])", ["k"], [41]);
            Assert.Equal(41, (int)result);

            // Scripts must be atomic (rate limits depend on it): a check-then-increment script run
            // 200 times at once against a limit of 50 admits exactly 50.
            const string admit = "local n = tonumber(redis.call('GET', KEYS[1]) or '0') " +
                "if n < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], n + 1) return 1 end return 0";
            // Four connections, as several replicas would have: one connection alone is serialised anyway.
            var connections = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
                StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.ConnectionString)));
            try
            {
                var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
                    Task.Run(() => connections[i % 4].GetDatabase().ScriptEvaluateAsync(admit, ["limit"], [50]))));
                Assert.Equal(50, results.Count(r => (int)r == 1));
            }
            finally
            {
                foreach (var connection in connections)
                {
                    await connection.DisposeAsync();
                }
            }
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    [Fact]
    public async Task Without_redis_server_or_Garnet_the_error_says_what_to_install_or_set()
    {
        var directory = TestDirectories.Create("no-redis");
        try
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => RedisServer.StartAsync(
                new RedisServerOptions { DataDirectory = directory, Output = TextWriter.Null, ToolManifestDirectory = null, UseRedisServerFromPath = false },
                TestContext.Current.CancellationToken));

            Assert.Contains("'redis-server' is not on PATH", error.Message, StringComparison.Ordinal);
            Assert.Contains("apt-get install -y redis-server", error.Message, StringComparison.Ordinal);
            Assert.Contains("dotnet tool restore", error.Message, StringComparison.Ordinal);
            Assert.Contains("ConnectionStrings__redis", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    [Fact]
    public async Task Postgres_initialises_creates_database_restarts_with_data_and_stops_cleanly()
    {
        var directory = TestDirectories.Create("pg-launcher");
        var options = new PostgresServerOptions { DataDirectory = Path.Combine(directory, "data"), Output = TextWriter.Null, NonDurable = true };
        try
        {
            var first = await PostgresServer.StartAsync(options, TestContext.Current.CancellationToken);
            await first.EnsureDatabaseAsync("gatewaydb", TestContext.Current.CancellationToken);
            await first.EnsureDatabaseAsync("gatewaydb", TestContext.Current.CancellationToken); // idempotent
            await Execute(first.GetConnectionString("gatewaydb"), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42);");
            var firstPid = first.ProcessId;
            await first.StopAsync();
            NpgsqlConnection.ClearAllPools();
            Assert.False(Directory.Exists($"/proc/{firstPid}"), "the postmaster is still running after StopAsync");

            // A second start reuses the cluster (and its password) and the data is still there.
            await using var second = await PostgresServer.StartAsync(options, TestContext.Current.CancellationToken);
            Assert.Equal(42, await PostgresServerFixture.ScalarAsync<int>(second.GetConnectionString("gatewaydb"), "SELECT v FROM kept"));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            TestDirectories.Delete(directory);
        }
    }

    private static async Task Execute(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
