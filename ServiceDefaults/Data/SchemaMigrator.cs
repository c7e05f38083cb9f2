using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Microsoft.Extensions.Hosting;

/// <summary>One forward-only migration of a service's schema.</summary>
/// <param name="Version">Strictly increasing within the schema.</param>
/// <param name="Description">What it changes, recorded in the history table.</param>
/// <param name="Sql">The statements; run in one transaction with the history row.</param>
public sealed record SchemaMigration(int Version, string Description, string Sql);

/// <summary>
/// Brings a service's own PostgreSQL schema up to date at startup, idempotently and safely when
/// several replicas start at once (a transaction-scoped advisory lock per schema). Hand-written
/// rather than a migration framework: each service owns a handful of plain SQL scripts, and the
/// libraries on our feed would add a dependency and a DSL for 40 lines of work.
/// </summary>
public sealed partial class SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger)
{
    /// <summary>Applies every migration of <paramref name="schema"/> not yet recorded, in order.</summary>
    public async Task MigrateAsync(string schema, IReadOnlyList<SchemaMigration> migrations, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext($1))", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("schema_migrations:" + schema);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        var quoted = QuoteIdentifier(schema);
        await using (var setup = new NpgsqlCommand(
            $"""
            CREATE SCHEMA IF NOT EXISTS {quoted};
            CREATE TABLE IF NOT EXISTS {quoted}.schema_migrations (
                version int PRIMARY KEY,
                description text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now());
            """, connection, transaction))
        {
            await setup.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = new HashSet<int>();
        await using (var query = new NpgsqlCommand($"SELECT version FROM {quoted}.schema_migrations", connection, transaction))
        await using (var reader = await query.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        foreach (var migration in migrations.OrderBy(m => m.Version))
        {
            if (applied.Contains(migration.Version))
            {
                continue;
            }

            await using (var apply = new NpgsqlCommand(migration.Sql, connection, transaction))
            {
                await apply.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var record = new NpgsqlCommand(
                $"INSERT INTO {quoted}.schema_migrations (version, description) VALUES ($1, $2)", connection, transaction))
            {
                record.Parameters.AddWithValue(migration.Version);
                record.Parameters.AddWithValue(migration.Description);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            LogApplied(logger, schema, migration.Version, migration.Description);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    [LoggerMessage(EventId = 1, EventName = "MigrationApplied", Level = LogLevel.Information,
        Message = "Applied migration {Schema} v{Version}: {Description}")]
    private static partial void LogApplied(ILogger logger, string schema, int version, string description);
}

/// <summary>Registration of a service's schema migrations, run before it reports ready.</summary>
public static class SchemaMigrationExtensions
{
    /// <summary>
    /// Runs <paramref name="migrations"/> for <paramref name="schema"/> when the host starts (the
    /// host does not accept requests until it is done) and keeps retrying while PostgreSQL is
    /// unreachable, so a service started before its database is up becomes ready when it is.
    /// </summary>
    public static IHostApplicationBuilder AddSchemaMigrations(
        this IHostApplicationBuilder builder, string schema, IReadOnlyList<SchemaMigration> migrations)
    {
        builder.Services.AddSingleton<SchemaMigrator>();
        builder.Services.AddSingleton(new SchemaMigrationSet(schema, migrations));
        builder.Services.AddHostedService<SchemaMigrationHostedService>();
        return builder;
    }
}

/// <summary>The migrations one service registered.</summary>
public sealed record SchemaMigrationSet(string Schema, IReadOnlyList<SchemaMigration> Migrations);

internal sealed partial class SchemaMigrationHostedService(
    SchemaMigrator migrator, IEnumerable<SchemaMigrationSet> sets, ILogger<SchemaMigrationHostedService> logger, TimeProvider time)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var set in sets)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await migrator.MigrateAsync(set.Schema, set.Migrations, cancellationToken);
                    break;
                }
                catch (NpgsqlException ex) when (ex.IsTransient && !cancellationToken.IsCancellationRequested)
                {
                    LogRetry(logger, set.Schema, attempt, ex.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 200 * attempt)), time, cancellationToken);
                }
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 2, EventName = "MigrationRetry", Level = LogLevel.Warning,
        Message = "PostgreSQL not reachable while migrating {Schema} (attempt {Attempt}): {Error}")]
    private static partial void LogRetry(ILogger logger, string schema, int attempt, string error);
}
