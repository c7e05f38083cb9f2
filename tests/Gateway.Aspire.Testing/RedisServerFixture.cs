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

    // Enough that a test process never hands one database to two callers: with redis-server's 16 the
    // numbers wrapped once a project had more than 15 callers, and two test classes' budget counters
    // (same rule and subject) met in one database.
    private const int Databases = 256;

    /// <summary>
    /// A connection string selecting a database number no other caller of this fixture got (1..255 on
    /// redis-server; 1..15, wrapping, on Garnet).
    /// </summary>
    public string NextDatabase()
    {
        var count = Kind == "redis-server" ? Databases : 16;
        return $"{ConnectionString},defaultDatabase={Interlocked.Increment(ref _database) % (count - 1) + 1}";
    }

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _directory = TestDirectories.Create("redis");
        _server = await RedisServer.StartAsync(
            new RedisServerOptions { DataDirectory = _directory, Output = TextWriter.Null, ToolManifestDirectory = RepositoryRoot.Find(), Databases = Databases },
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
