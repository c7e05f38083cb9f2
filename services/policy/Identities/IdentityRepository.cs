using System.Text.Json;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using NpgsqlTypes;

namespace Gateway.Aspire.Policy.Identities;

/// <summary>A virtual account as token creation needs it.</summary>
/// <param name="Id">Primary key.</param>
/// <param name="Team">The owning team's name.</param>
/// <param name="Models">Its models.</param>
public sealed record VirtualAccountRef(Guid Id, string Team, IReadOnlyList<string> Models);

/// <summary>
/// The <c>policy.users</c>, <c>teams</c>, <c>team_members</c> and <c>virtual_accounts</c> tables.
/// Rows are addressed by id or by name (<c>$1</c> matches either; an id wins). Changes that alter
/// what a token resolves to return the hashes of the live tokens affected, for
/// <see cref="Admission.TokenInvalidation"/>.
/// </summary>
/// <remarks>Returns the gRPC messages directly: they are exactly what the admin API lists.</remarks>
public sealed class IdentityRepository(NpgsqlDataSource dataSource)
{
    // Id first, then name: a name that happens to look like another row's id cannot shadow it.
    private const string ById = "(SELECT id FROM policy.{0} WHERE id::text = lower($1) OR name = $1 ORDER BY id::text = lower($1) DESC LIMIT 1)";

    /// <summary>Inserts a user (unique violation on a duplicate name).</summary>
    public async Task<User> InsertUserAsync(Guid id, string name, string email, bool admin, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "INSERT INTO policy.users (id, name, email, is_admin, created_at) VALUES ($1, $2, $3, $4, $5)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        command.Parameters.Add(new NpgsqlParameter { Value = email.Length == 0 ? DBNull.Value : email, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = admin });
        command.Parameters.Add(TimestampParameter(now));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return new User { Id = id.ToString(), Name = name, Email = email, Admin = admin, CreatedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now) };
    }

    /// <summary>Every user with their teams, by name.</summary>
    public async Task<IReadOnlyList<User>> ListUsersAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT u.id, u.name, coalesce(u.email, ''), u.is_admin, u.created_at,
                   coalesce((SELECT array_agg(t.name ORDER BY t.name) FROM policy.team_members m JOIN policy.teams t ON t.id = m.team_id WHERE m.user_id = u.id), '{}')
              FROM policy.users u ORDER BY u.name
            """);
        return await ReadAllAsync(command, reader =>
        {
            var user = new User
            {
                Id = reader.GetGuid(0).ToString(),
                Name = reader.GetString(1),
                Email = reader.GetString(2),
                Admin = reader.GetBoolean(3),
                CreatedAt = ReadTimestamp(reader, 4),
            };
            user.Teams.AddRange(reader.GetFieldValue<string[]>(5));
            return user;
        }, cancellationToken);
    }

    /// <summary>The user's id and name, or null.</summary>
    public async Task<(Guid Id, string Name)?> FindUserAsync(string idOrName, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT id, name FROM policy.users WHERE id = {string.Format(null, ById, "users")}");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idOrName });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetGuid(0), reader.GetString(1)) : null;
    }

    /// <summary>Deletes a user and their tokens; null when there is no such user, else the hashes of their live tokens.</summary>
    public Task<IReadOnlyList<byte[]>?> DeleteUserAsync(string idOrName, CancellationToken cancellationToken) =>
        DeleteWithTokensAsync("users", "t.user_id = $2", idOrName, cancellationToken);

    /// <summary>Inserts a team.</summary>
    public async Task<Team> InsertTeamAsync(Guid id, string name, IReadOnlyList<string> models, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("INSERT INTO policy.teams (id, name, models, created_at) VALUES ($1, $2, $3, $4)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. models] });
        command.Parameters.Add(TimestampParameter(now));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return new Team { Id = id.ToString(), Name = name, Models = { models }, CreatedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now) };
    }

    /// <summary>Every team with its members, by name; or only the team <paramref name="idOrName"/> (empty when unknown).</summary>
    public async Task<IReadOnlyList<Team>> ListTeamsAsync(string? idOrName, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT t.id, t.name, t.models, t.created_at,
                   coalesce((SELECT array_agg(u.name ORDER BY u.name) FROM policy.team_members m JOIN policy.users u ON u.id = m.user_id WHERE m.team_id = t.id), '{"{}"}'),
                   coalesce((SELECT array_agg(m.is_admin ORDER BY u.name) FROM policy.team_members m JOIN policy.users u ON u.id = m.user_id WHERE m.team_id = t.id), '{"{}"}')
              FROM policy.teams t
             {(idOrName is null ? "" : "WHERE t.id = " + string.Format(null, ById, "teams"))}
             ORDER BY t.name
            """);
        if (idOrName is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idOrName });
        }

        return await ReadAllAsync(command, reader =>
        {
            var team = new Team { Id = reader.GetGuid(0).ToString(), Name = reader.GetString(1), CreatedAt = ReadTimestamp(reader, 3) };
            team.Models.AddRange(reader.GetFieldValue<string[]>(2));
            var members = reader.GetFieldValue<string[]>(4);
            var admins = reader.GetFieldValue<bool[]>(5);
            for (var i = 0; i < members.Length; i++)
            {
                team.Members.Add(new TeamMember { User = members[i], Admin = admins[i] });
            }

            return team;
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes a team (its memberships go with it); null when there is no such team, else the hashes
    /// of its members' live personal tokens. Fails (foreign key) while it owns virtual accounts.
    /// </summary>
    public Task<IReadOnlyList<byte[]>?> DeleteTeamAsync(string idOrName, CancellationToken cancellationToken) =>
        DeleteWithTokensAsync("teams", "t.user_id IN (SELECT user_id FROM policy.team_members WHERE team_id = $2)", idOrName, cancellationToken);

    /// <summary>Whether the team owns virtual accounts (their names, for the error message).</summary>
    public async Task<IReadOnlyList<string>> VirtualAccountsOfTeamAsync(string idOrName, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT name FROM policy.virtual_accounts WHERE team_id = {string.Format(null, ById, "teams")} ORDER BY name");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idOrName });
        return await ReadAllAsync(command, reader => reader.GetString(0), cancellationToken);
    }

    /// <summary>
    /// Adds (or, with <paramref name="add"/> false, removes) a membership. Null when the team or the
    /// user is unknown (the second item says which: "team", "user", or "member" when removing a non-member), else the hashes of the user's live personal tokens.
    /// </summary>
    public async Task<(IReadOnlyList<byte[]>? Hashes, string? Missing)> ChangeMembershipAsync(
        string team, string user, bool admin, bool add, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var find = new NpgsqlCommand(
            $"SELECT {string.Format(null, ById, "teams")}, {string.Format(null, ById, "users").Replace("$1", "$2", StringComparison.Ordinal)}",
            connection, transaction);
        find.Parameters.Add(new NpgsqlParameter<string> { TypedValue = team });
        find.Parameters.Add(new NpgsqlParameter<string> { TypedValue = user });
        Guid teamId, userId;
        await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            if (reader.IsDBNull(0) || reader.IsDBNull(1))
            {
                return (null, reader.IsDBNull(0) ? "team" : "user");
            }

            (teamId, userId) = (reader.GetGuid(0), reader.GetGuid(1));
        }

        await using var change = new NpgsqlCommand(add
            ? "INSERT INTO policy.team_members (team_id, user_id, is_admin) VALUES ($1, $2, $3) ON CONFLICT (team_id, user_id) DO UPDATE SET is_admin = excluded.is_admin"
            : "DELETE FROM policy.team_members WHERE team_id = $1 AND user_id = $2 AND $3 IS NOT NULL", connection, transaction);
        change.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = teamId });
        change.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
        change.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = admin });
        if (await change.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return (null, "member");
        }

        var hashes = await LiveTokenHashesAsync(connection, transaction, "t.user_id = $1", userId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (hashes, null);
    }

    /// <summary>Inserts a virtual account; null when the team is unknown.</summary>
    public async Task<VirtualAccount?> InsertVirtualAccountAsync(
        Guid id, string name, string team, IReadOnlyList<string> models, IReadOnlyDictionary<string, string> metadata, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            INSERT INTO policy.virtual_accounts (id, name, team_id, models, metadata, created_at)
            SELECT $2, $3, t.id, $4, $5, $6 FROM policy.teams t WHERE t.id = {string.Format(null, ById, "teams")}
            RETURNING (SELECT name FROM policy.teams WHERE id = team_id)
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = team });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. models] });
        command.Parameters.Add(new NpgsqlParameter<string>
        {
            TypedValue = JsonSerializer.Serialize(new Dictionary<string, string>(metadata), PolicyJsonContext.Default.DictionaryStringString),
            NpgsqlDbType = NpgsqlDbType.Jsonb,
        });
        command.Parameters.Add(TimestampParameter(now));
        if (await command.ExecuteScalarAsync(cancellationToken) is not string teamName)
        {
            return null;
        }

        var account = new VirtualAccount { Id = id.ToString(), Name = name, Team = teamName, Models = { models }, CreatedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now) };
        account.Metadata.Add(new Dictionary<string, string>(metadata));
        return account;
    }

    /// <summary>Every virtual account, by name.</summary>
    public async Task<IReadOnlyList<VirtualAccount>> ListVirtualAccountsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT va.id, va.name, t.name, va.models, va.metadata::text, va.created_at
              FROM policy.virtual_accounts va JOIN policy.teams t ON t.id = va.team_id ORDER BY va.name
            """);
        return await ReadAllAsync(command, reader =>
        {
            var account = new VirtualAccount { Id = reader.GetGuid(0).ToString(), Name = reader.GetString(1), Team = reader.GetString(2), CreatedAt = ReadTimestamp(reader, 5) };
            account.Models.AddRange(reader.GetFieldValue<string[]>(3));
            account.Metadata.Add(JsonSerializer.Deserialize(reader.GetString(4), PolicyJsonContext.Default.DictionaryStringString)!);
            return account;
        }, cancellationToken);
    }

    /// <summary>The virtual account named <paramref name="name"/>, or null.</summary>
    public async Task<VirtualAccountRef?> FindVirtualAccountAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT va.id, t.name, va.models FROM policy.virtual_accounts va JOIN policy.teams t ON t.id = va.team_id WHERE va.name = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new VirtualAccountRef(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<string[]>(2))
            : null;
    }

    /// <summary>Deletes a virtual account and its tokens; null when unknown, else the hashes of its live tokens.</summary>
    public Task<IReadOnlyList<byte[]>?> DeleteVirtualAccountAsync(string idOrName, CancellationToken cancellationToken) =>
        DeleteWithTokensAsync("virtual_accounts", "t.virtual_account_id = $2", idOrName, cancellationToken);

    /// <summary>
    /// In one transaction: finds the row, collects the hashes of the live tokens <paramref name="tokensOf"/>
    /// selects (<c>$2</c> is the row's id), and deletes the row (tokens of users and accounts cascade).
    /// </summary>
    private async Task<IReadOnlyList<byte[]>?> DeleteWithTokensAsync(string table, string tokensOf, string idOrName, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var find = new NpgsqlCommand($"SELECT {string.Format(null, ById, table)}", connection, transaction);
        find.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idOrName });
        if (await find.ExecuteScalarAsync(cancellationToken) is not Guid id)
        {
            return null;
        }

        var hashes = await LiveTokenHashesAsync(connection, transaction, tokensOf.Replace("$2", "$1", StringComparison.Ordinal), id, cancellationToken);
        await using var delete = new NpgsqlCommand($"DELETE FROM policy.{table} WHERE id = $1", connection, transaction);
        delete.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await delete.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return hashes;
    }

    private static async Task<IReadOnlyList<byte[]>> LiveTokenHashesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string condition, Guid id, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT t.hash FROM policy.tokens t WHERE t.revoked_at IS NULL AND {condition}", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        return await ReadAllAsync(command, reader => reader.GetFieldValue<byte[]>(0), cancellationToken);
    }

    private static async Task<IReadOnlyList<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static NpgsqlParameter TimestampParameter(DateTimeOffset value) =>
        new NpgsqlParameter<DateTimeOffset> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.TimestampTz };

    private static Timestamp ReadTimestamp(NpgsqlDataReader reader, int ordinal) =>
        Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(reader.GetFieldValue<DateTimeOffset>(ordinal));
}
