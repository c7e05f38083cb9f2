using Gateway.Aspire.ServiceDefaults.Configuration;
using Npgsql;

namespace Gateway.Aspire.Policy.Configuration;

/// <summary>An applied document in force.</summary>
/// <param name="Type">Its <c>type</c>.</param>
/// <param name="Name">Its <c>name</c>.</param>
/// <param name="Yaml">Its text as applied.</param>
/// <param name="Version">The version that last changed it.</param>
internal sealed record StoredDocument(string Type, string Name, string Yaml, long Version);

/// <summary>The applied configuration at one version: its documents in overlay order.</summary>
/// <param name="Version">0 before the first apply.</param>
/// <param name="Documents">In overlay order.</param>
internal sealed record ConfigState(long Version, IReadOnlyList<StoredDocument> Documents);

/// <summary>What a change does to the stored documents, decided under the lock from the state it sees.</summary>
/// <param name="Upserts">Documents to add or replace.</param>
/// <param name="Removed">The <c>(type, name)</c> to delete, if any.</param>
/// <param name="Diff">The change, for the reply and the history.</param>
internal sealed record ConfigChange(IReadOnlyList<StoredDocument> Upserts, (string Type, string Name)? Removed, ConfigDiff Diff);

/// <summary>A row of the history.</summary>
internal sealed record ConfigVersionRow(long Version, DateTimeOffset AppliedAt, string AppliedBy, string Action, string Documents, string Diff);

/// <summary>
/// The applied configuration in PostgreSQL (schema <c>policy</c>): the documents in force and one
/// history row per version. Changes are serialised by a transaction-scoped advisory lock and checked
/// against the version the caller validated, so two concurrent applies never lose each other's
/// documents: the second sees the first's version and starts over.
/// </summary>
internal sealed class ConfigStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string LockKey = "policy:config";

    /// <summary>The current state (no lock: a snapshot to validate against).</summary>
    public async Task<ConfigState> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ReadAsync(connection, null, cancellationToken);
    }

    /// <summary>
    /// Under the lock: checks the state is still at <paramref name="baseVersion"/> (else
    /// <see cref="ConfigConflictException"/>), lets <paramref name="decide"/> validate and plan the
    /// change (it throws to refuse), and stores it as the next version unless
    /// <paramref name="dryRun"/> or the configuration would not change.
    /// </summary>
    /// <returns>The version in force afterwards, and the change.</returns>
    public async Task<(long Version, ConfigChange Change)> ChangeAsync(
        long baseVersion, Func<ConfigState, ConfigChange> decide, bool dryRun, string actor, string action, string documents,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext($1))", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue(LockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        var state = await ReadAsync(connection, transaction, cancellationToken);
        if (state.Version != baseVersion)
        {
            throw new ConfigConflictException(state.Version);
        }

        var change = decide(state);
        if (dryRun || (!change.Diff.Changed && change.Removed is null))
        {
            return (state.Version, change);
        }

        var version = state.Version + 1;
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO policy.config_versions (version, applied_at, applied_by, action, documents, diff) VALUES ($1, $2, $3, $4, $5, $6)",
            connection, transaction))
        {
            insert.Parameters.AddWithValue(version);
            insert.Parameters.AddWithValue(time.GetUtcNow());
            insert.Parameters.AddWithValue(actor);
            insert.Parameters.AddWithValue(action);
            insert.Parameters.AddWithValue(documents);
            insert.Parameters.AddWithValue(change.Diff.Text);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var document in change.Upserts)
        {
            await using var upsert = new NpgsqlCommand(
                """
                INSERT INTO policy.config_documents (type, name, yaml, version, position)
                VALUES ($1, $2, $3, $4, (SELECT coalesce(max(position), 0) + 1 FROM policy.config_documents))
                ON CONFLICT (type, name) DO UPDATE SET yaml = excluded.yaml, version = excluded.version
                """, connection, transaction);
            upsert.Parameters.AddWithValue(document.Type);
            upsert.Parameters.AddWithValue(document.Name);
            upsert.Parameters.AddWithValue(document.Yaml);
            upsert.Parameters.AddWithValue(version);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (change.Removed is var (type, name))
        {
            await using var delete = new NpgsqlCommand("DELETE FROM policy.config_documents WHERE type = $1 AND name = $2", connection, transaction);
            delete.Parameters.AddWithValue(type);
            delete.Parameters.AddWithValue(name);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (version, change);
    }

    /// <summary>Up to <paramref name="limit"/> versions below <paramref name="beforeVersion"/> (0: from the newest), newest first.</summary>
    public async Task<IReadOnlyList<ConfigVersionRow>> HistoryAsync(int limit, long beforeVersion, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT version, applied_at, applied_by, action, documents, diff FROM policy.config_versions
            WHERE $1 = 0 OR version < $1 ORDER BY version DESC LIMIT $2
            """);
        command.Parameters.AddWithValue(beforeVersion);
        command.Parameters.AddWithValue(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<ConfigVersionRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ConfigVersionRow(
                reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5)));
        }

        return rows;
    }

    private static async Task<ConfigState> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT coalesce((SELECT max(version) FROM policy.config_versions), 0), type, name, yaml, version
            FROM (SELECT 1) AS one LEFT JOIN policy.config_documents ON true ORDER BY position
            """, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        long version = 0;
        var documents = new List<StoredDocument>();
        while (await reader.ReadAsync(cancellationToken))
        {
            version = reader.GetInt64(0);
            if (!reader.IsDBNull(1))
            {
                documents.Add(new StoredDocument(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)));
            }
        }

        return new ConfigState(version, documents);
    }
}

/// <summary>The configuration moved past the version a change was validated against.</summary>
/// <param name="current">The version now in force.</param>
internal sealed class ConfigConflictException(long current)
    : Exception($"The configuration changed (now version {current}) while this change was being validated; validate it again.")
{
    /// <summary>The version now in force.</summary>
    public long Current { get; } = current;
}
