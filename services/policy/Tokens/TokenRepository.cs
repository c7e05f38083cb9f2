using Npgsql;
using NpgsqlTypes;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>A token as stored: everything but the secret, which only exists as its hash.</summary>
/// <param name="Id">Primary key.</param>
/// <param name="Name">Display name.</param>
/// <param name="Kind"><c>virtual-account</c> (today the only kind) or <c>personal</c>.</param>
/// <param name="Prefix">The first characters of the secret, for identification.</param>
/// <param name="Hash">SHA-256 of the secret.</param>
/// <param name="Models">Allowed models; empty means all.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="ExpiresAt">Expiry, if any.</param>
public sealed record StoredToken(
    Guid Id, string Name, string Kind, string Prefix, byte[] Hash, IReadOnlyList<string> Models, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>The <c>policy.tokens</c> table.</summary>
public sealed class TokenRepository(NpgsqlDataSource dataSource)
{
    /// <summary>Inserts a new token.</summary>
    public async Task InsertAsync(StoredToken token, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            INSERT INTO policy.tokens (id, name, kind, prefix, hash, models, created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = token.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = token.Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = token.Kind });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = token.Prefix });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = token.Hash });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. token.Models] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = token.CreatedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)token.ExpiresAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The live token with this hash, or null when none exists or it was revoked.</summary>
    public async Task<TokenRecord?> FindActiveAsync(byte[] hash, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id, name, models, expires_at FROM policy.tokens WHERE hash = $1 AND revoked_at IS NULL");
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = hash });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new TokenRecord(
            reader.GetGuid(0),
            reader.GetString(1),
            reader.GetFieldValue<string[]>(2),
            reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3));
    }
}
