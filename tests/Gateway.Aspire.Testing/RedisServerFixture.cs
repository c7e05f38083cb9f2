using Gateway.Aspire.Hosting.Servers;

namespace Gateway.Aspire.Testing;

/// <summary>
/// A real Redis-compatible server for one test assembly (or class), started with the same code the
/// AppHost uses. Tests isolate themselves with their own key prefixes or <see cref="NextDatabase"/>.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private string? _directory;
    private RedisServer? _server;
    private int _database;

    /// <summary>StackExchange.Redis connection string of the running server.</summary>
    public string ConnectionString => _server?.ConnectionString ?? throw new InvalidOperationException("Redis is not started.");

    /// <summary>Which server runs (redis-server or garnet-server).</summary>
    public string Kind => _server?.Kind ?? "";

    /// <summary>A connection string selecting a database number no other caller of this fixture got (1..15).</summary>
    public string NextDatabase() => $"{ConnectionString},defaultDatabase={Interlocked.Increment(ref _database) % 15 + 1}";

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _directory = TestDirectories.Create("redis");
        _server = await RedisServer.StartAsync(
            new RedisServerOptions { DataDirectory = _directory, Output = TextWriter.Null, ToolManifestDirectory = RepositoryRoot.Find() },
            CancellationToken.None);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_directory is not null)
        {
            TestDirectories.Delete(_directory);
        }
    }
}
