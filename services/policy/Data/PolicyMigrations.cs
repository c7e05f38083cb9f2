namespace Gateway.Aspire.Policy.Data;

/// <summary>The <c>policy</c> schema, forward-only.</summary>
internal static class PolicyMigrations
{
    /// <summary>The schema this service owns.</summary>
    public const string Schema = "policy";

    /// <summary>Every migration, in order.</summary>
    public static IReadOnlyList<SchemaMigration> All { get; } =
    [
        new(1, "tokens", """
            CREATE TABLE policy.tokens (
                id uuid PRIMARY KEY,
                name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
                kind text NOT NULL CHECK (kind IN ('virtual-account', 'personal')),
                -- The first characters of the secret, so an operator can tell tokens apart.
                prefix text NOT NULL,
                -- SHA-256 of the whole secret; the secret itself is never stored.
                hash bytea NOT NULL UNIQUE,
                -- `<account>/<model>` names the token may call; empty means every model.
                models text[] NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL,
                expires_at timestamptz NULL,
                revoked_at timestamptz NULL);
            """),
    ];
}
