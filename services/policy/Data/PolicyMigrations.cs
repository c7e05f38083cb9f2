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
        new(2, "identities", """
            -- Names are what rules and the admin API address (user:<name>, team:<name>,
            -- virtualaccount:<name>), so they are unique; ids are what rows reference.
            CREATE TABLE policy.users (
                id uuid PRIMARY KEY,
                name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
                email text NULL,
                is_admin boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL);
            CREATE TABLE policy.teams (
                id uuid PRIMARY KEY,
                name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
                -- What the team's members may call with their personal tokens; empty means every model.
                models text[] NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL);
            CREATE TABLE policy.team_members (
                team_id uuid NOT NULL REFERENCES policy.teams (id) ON DELETE CASCADE,
                user_id uuid NOT NULL REFERENCES policy.users (id) ON DELETE CASCADE,
                is_admin boolean NOT NULL DEFAULT false,
                PRIMARY KEY (team_id, user_id));
            CREATE INDEX team_members_user ON policy.team_members (user_id);
            CREATE TABLE policy.virtual_accounts (
                id uuid PRIMARY KEY,
                name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
                -- A team that owns virtual accounts cannot be deleted (RESTRICT): the accounts' tokens would lose their team.
                team_id uuid NOT NULL REFERENCES policy.teams (id) ON DELETE RESTRICT,
                models text[] NOT NULL CHECK (cardinality(models) > 0),
                metadata jsonb NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL);
            -- Tokens of neither a user nor a virtual account are the tokens issued before identities
            -- existed: they keep working as virtual accounts named after the token.
            ALTER TABLE policy.tokens
                ADD COLUMN user_id uuid NULL REFERENCES policy.users (id) ON DELETE CASCADE,
                ADD COLUMN virtual_account_id uuid NULL REFERENCES policy.virtual_accounts (id) ON DELETE CASCADE,
                -- The last characters of the secret, shown with the prefix in listings (NULL for older tokens).
                ADD COLUMN last4 text NULL,
                -- The token a rotation issued in its place.
                ADD COLUMN rotated_to uuid NULL,
                ADD CONSTRAINT tokens_owner CHECK (user_id IS NULL OR virtual_account_id IS NULL),
                ADD CONSTRAINT tokens_personal CHECK ((kind = 'personal') = (user_id IS NOT NULL));
            CREATE INDEX tokens_user ON policy.tokens (user_id) WHERE user_id IS NOT NULL;
            CREATE INDEX tokens_virtual_account ON policy.tokens (virtual_account_id) WHERE virtual_account_id IS NOT NULL;
            """),
        new(10, "configuration manifests", """
            -- One row per change of the applied configuration (the history); version is the live version.
            CREATE TABLE policy.config_versions (
                version bigint PRIMARY KEY CHECK (version > 0),
                applied_at timestamptz NOT NULL,
                -- admin-key or user:<name>
                applied_by text NOT NULL,
                action text NOT NULL CHECK (action IN ('apply', 'remove')),
                -- The body applied, or <type>/<name> removed.
                documents text NOT NULL,
                diff text NOT NULL);
            -- The applied documents in force, keyed as they are replaced: by type and name.
            CREATE TABLE policy.config_documents (
                type text NOT NULL,
                name text NOT NULL,
                yaml text NOT NULL,
                -- The version that last changed it.
                version bigint NOT NULL REFERENCES policy.config_versions (version),
                -- Overlay order (first applied first); kept when the document is replaced, because
                -- rule order across documents is first-match order.
                position bigint NOT NULL,
                PRIMARY KEY (type, name));
            """),
    ];
}
