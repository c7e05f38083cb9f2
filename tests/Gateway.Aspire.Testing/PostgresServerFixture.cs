using Gateway.Aspire.Hosting.Servers;
using Npgsql;

namespace Gateway.Aspire.Testing;

/// <summary>
/// A real PostgreSQL server for one test assembly (or class), started with the same code the
/// AppHost uses, on a throw-away non-durable cluster. Each test class takes its own database from
/// <see cref="CreateDatabaseAsync"/> so tests never see each other's rows.
/// </summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private string? _directory;
    private PostgresServer? _server;

    /// <summary>The running server.</summary>
    public PostgresServer Server => _server ?? throw new InvalidOperationException("PostgreSQL is not started.");

    /// <summary>Creates a new empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)].ToLowerInvariant();
        await Server.EnsureDatabaseAsync(name, CancellationToken.None);
        return Server.GetConnectionString(name);
    }

    /// <summary>Runs a scalar query against <paramref name="connectionString"/> (for assertions).</summary>
    public static async Task<T?> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _directory = TestDirectories.Create("postgres");
        _server = await PostgresServer.StartAsync(
            new PostgresServerOptions { DataDirectory = Path.Combine(_directory, "data"), Output = TextWriter.Null, NonDurable = true },
            CancellationToken.None);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        if (_directory is not null)
        {
            TestDirectories.Delete(_directory);
        }
    }
}
