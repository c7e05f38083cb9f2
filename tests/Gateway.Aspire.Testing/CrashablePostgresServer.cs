using System.Runtime.InteropServices;
using Gateway.Aspire.Hosting.Processes;
using Gateway.Aspire.Hosting.Servers;
using Npgsql;

namespace Gateway.Aspire.Testing;

/// <summary>
/// A PostgreSQL server of one test's own that can be crashed and started again on the same data
/// directory and port, so clients reconnect to the same address. Durable (fsync and synchronous
/// commit on, unlike <see cref="PostgresServerFixture"/>): a crash must keep every committed row,
/// as it does in production, or a test of "nothing lost" proves nothing.
/// </summary>
public sealed class CrashablePostgresServer : IAsyncDisposable
{
    private readonly string _directory;
    private PostgresServer _server;

    private CrashablePostgresServer(string directory, PostgresServer server)
    {
        _directory = directory;
        _server = server;
    }

    /// <summary>The loopback port, kept across restarts.</summary>
    public int Port => _server.Port;

    /// <summary>Starts a new cluster with database <paramref name="database"/>.</summary>
    public static async Task<CrashablePostgresServer> StartAsync(string database, CancellationToken cancellationToken)
    {
        var directory = TestDirectories.Create("postgres-crash");
        var server = await PostgresServer.StartAsync(Options(directory, 0), cancellationToken);
        await server.EnsureDatabaseAsync(database, cancellationToken);
        return new CrashablePostgresServer(directory, server);
    }

    /// <summary>Connection string of <paramref name="database"/> (the same before and after a restart).</summary>
    public string GetConnectionString(string database) => _server.GetConnectionString(database);

    /// <summary>
    /// What <c>pg_ctl stop -m immediate</c> does: SIGQUIT to the postmaster, which kills every
    /// backend at once, without a checkpoint; the next start runs crash recovery from the WAL.
    /// Open connections break mid-statement. Returns once the server is gone.
    /// </summary>
    public async Task CrashAsync()
    {
        ChildProcess.Signal(_server.ProcessId, PosixSignal.SIGQUIT);
        await _server.StopAsync();
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Starts the server again on the same directory and port (crash recovery included).</summary>
    public async Task RestartAsync(CancellationToken cancellationToken) =>
        _server = await PostgresServer.StartAsync(Options(_directory, _server.Port), cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        TestDirectories.Delete(_directory);
    }

    private static PostgresServerOptions Options(string directory, int port) =>
        new() { DataDirectory = Path.Combine(directory, "data"), Port = port, Output = TextWriter.Null };
}
