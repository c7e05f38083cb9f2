using Npgsql;
using NpgsqlTypes;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>A token as stored: everything but the secret, which only exists as its hash.</summary>
/// <param name="Id">Primary key.</param>
/// <param name="Name">Display name (a virtual-account token: the account's name).</param>
/// <param name="Kind"><see cref="TokenKinds.VirtualAccount"/> or <see cref="TokenKinds.Personal"/>.</param>
/// <param name="Prefix">The first characters of the secret, for identification.</param>
/// <param name="Hash">SHA-256 of the secret.</param>
/// <param name="Models">The token's own model list (tokens without a virtual account); empty means all.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="ExpiresAt">Expiry, if any.</param>
public sealed record StoredToken(
    Guid Id, string Name, string Kind, string Prefix, byte[] Hash, IReadOnlyList<string> Models, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt)
{
    /// <summary>The user of a personal token.</summary>
    public Guid? UserId { get; init; }

    /// <summary>The virtual account of a virtual-account token (null for stand-alone tokens).</summary>
    public Guid? VirtualAccountId { get; init; }

    /// <summary>The secret's last four characters (null for tokens issued before they were kept).</summary>
    public string? Last4 { get; init; }
}

/// <summary>A live token as listings show it, resolved to its identity.</summary>
/// <param name="Record">What admission sees.</param>
/// <param name="Display"><c>gw-vat-AbCd…wxyz</c>.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="RotatedTo">The token a rotation issued in its place, if any.</param>
/// <param name="Hash">SHA-256 of the secret (for cache invalidation; never shown).</param>
/// <param name="Stored">The row's own columns, as a rotation copies them (the hash and prefix are the old secret's).</param>
public sealed record TokenListing(TokenRecord Record, string Display, DateTimeOffset CreatedAt, Guid? RotatedTo, byte[] Hash, StoredToken Stored);

/// <summary>The <c>policy.tokens</c> table, read together with the identity each token belongs to.</summary>
public sealed class TokenRepository(NpgsqlDataSource dataSource)
{
    // One resolution for admission and listings: a personal token's teams and their models, a
    // virtual-account token's account and owning team. Columns are read by ReadListing.
    private const string ResolvedTokens = """
        SELECT t.id, t.name, t.kind, t.models, t.expires_at, t.prefix, t.last4, t.created_at, t.rotated_to, t.hash,
               u.name, u.is_admin, va.name, va.models, vt.name,
               ut.teams, ut.unrestricted,
               (SELECT array_agg(DISTINCT model ORDER BY model)
                  FROM policy.team_members m JOIN policy.teams tm ON tm.id = m.team_id, unnest(tm.models) AS model
                 WHERE m.user_id = t.user_id),
               t.user_id, t.virtual_account_id, ut.admin_teams
          FROM policy.tokens t
          LEFT JOIN policy.users u ON u.id = t.user_id
          LEFT JOIN policy.virtual_accounts va ON va.id = t.virtual_account_id
          LEFT JOIN policy.teams vt ON vt.id = va.team_id
          LEFT JOIN LATERAL (
                SELECT array_agg(tm.name ORDER BY tm.name) AS teams, bool_or(cardinality(tm.models) = 0) AS unrestricted,
                       array_agg(tm.name ORDER BY tm.name) FILTER (WHERE m.is_admin) AS admin_teams
                  FROM policy.team_members m JOIN policy.teams tm ON tm.id = m.team_id
                 WHERE m.user_id = t.user_id) ut ON true
         WHERE t.revoked_at IS NULL
        """;

    /// <summary>Inserts a new token.</summary>
    public async Task InsertAsync(StoredToken token, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        PrepareInsert(command, token);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The live token with this hash, resolved to its identity; null when none exists or it was revoked.</summary>
    public async Task<TokenRecord?> FindActiveAsync(byte[] hash, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ResolvedTokens + " AND t.hash = $1");
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = hash });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadListing(reader).Record : null;
    }

    /// <summary>The live token with this id, or null.</summary>
    public async Task<TokenListing?> FindActiveAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ResolvedTokens + " AND t.id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadListing(reader) : null;
    }

    /// <summary>Every live token, oldest first.</summary>
    public async Task<IReadOnlyList<TokenListing>> ListActiveAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ResolvedTokens + " ORDER BY t.created_at, t.id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var tokens = new List<TokenListing>();
        while (await reader.ReadAsync(cancellationToken))
        {
            tokens.Add(ReadListing(reader));
        }

        return tokens;
    }

    /// <summary>Revokes a live token; returns its hash, or null when no live token has this id.</summary>
    public async Task<byte[]?> RevokeAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE policy.tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING hash");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    /// <summary>
    /// Inserts <paramref name="replacement"/> and, in the same transaction, makes the old token
    /// expire at <paramref name="oldExpiresAt"/> (revokes it when that is not after <paramref name="now"/>).
    /// False when the old token is no longer live (revoked concurrently).
    /// </summary>
    public async Task<bool> RotateAsync(Guid oldId, StoredToken replacement, DateTimeOffset? oldExpiresAt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand { Connection = connection, Transaction = transaction })
        {
            PrepareInsert(insert, replacement);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var update = new NpgsqlCommand(
            """
            UPDATE policy.tokens
               SET rotated_to = $2, expires_at = $3, revoked_at = CASE WHEN $3 <= $4 THEN $4 END
             WHERE id = $1 AND revoked_at IS NULL
            """, connection, transaction);
        update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = oldId });
        update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = replacement.Id });
        update.Parameters.Add(new NpgsqlParameter { Value = (object?)oldExpiresAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        update.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        if (await update.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static void PrepareInsert(NpgsqlCommand command, StoredToken token)
    {
        command.CommandText = """
            INSERT INTO policy.tokens (id, name, kind, prefix, hash, models, created_at, expires_at, user_id, virtual_account_id, last4)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """;
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = token.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = token.Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = token.Kind });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = token.Prefix });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = token.Hash });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. token.Models] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = token.CreatedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)token.ExpiresAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)token.UserId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)token.VirtualAccountId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)token.Last4 ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
    }

    private static TokenListing ReadListing(NpgsqlDataReader reader)
    {
        var name = reader.GetString(1);
        var kind = reader.GetString(2);
        var expiresAt = reader.IsDBNull(4) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(4);
        var display = reader.IsDBNull(6) ? reader.GetString(5) + "…" : reader.GetString(5) + "…" + reader.GetString(6);
        TokenRecord record;
        if (kind == TokenKinds.Personal)
        {
            // A user's access is the union of their teams' lists; a team without a list, or no team
            // at all, leaves the user unrestricted (docs/ARCHITECTURE.md, "Identities and tokens").
            var teams = reader.IsDBNull(15) ? [] : reader.GetFieldValue<string[]>(15);
            var unrestricted = teams.Length == 0 || reader.GetBoolean(16);
            record = new TokenRecord(reader.GetGuid(0), name, unrestricted || reader.IsDBNull(17) ? [] : reader.GetFieldValue<string[]>(17), expiresAt)
            {
                Kind = kind,
                User = reader.GetString(10),
                IsAdmin = reader.GetBoolean(11),
                Teams = teams,
                AdminOfTeams = reader.IsDBNull(20) ? [] : reader.GetFieldValue<string[]>(20),
            };
        }
        else if (!reader.IsDBNull(12))
        {
            record = new TokenRecord(reader.GetGuid(0), name, reader.GetFieldValue<string[]>(13), expiresAt)
            {
                VirtualAccount = reader.GetString(12),
                Teams = [reader.GetString(14)],
            };
        }
        else
        {
            record = new TokenRecord(reader.GetGuid(0), name, reader.GetFieldValue<string[]>(3), expiresAt);
        }

        var createdAt = reader.GetFieldValue<DateTimeOffset>(7);
        var hash = reader.GetFieldValue<byte[]>(9);
        var stored = new StoredToken(record.Id, name, kind, reader.GetString(5), hash, reader.GetFieldValue<string[]>(3), createdAt, expiresAt)
        {
            UserId = reader.IsDBNull(18) ? null : reader.GetGuid(18),
            VirtualAccountId = reader.IsDBNull(19) ? null : reader.GetGuid(19),
        };
        return new TokenListing(record, display, createdAt, reader.IsDBNull(8) ? null : reader.GetGuid(8), hash, stored);
    }
}
