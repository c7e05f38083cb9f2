namespace Gateway.Aspire.Accounting.Data;

/// <summary>The <c>accounting</c> schema, forward-only.</summary>
internal static class AccountingMigrations
{
    /// <summary>The schema this service owns.</summary>
    public const string Schema = "accounting";

    /// <summary>Every migration, in order.</summary>
    public static IReadOnlyList<SchemaMigration> All { get; } =
    [
        new(1, "ledger", """
            CREATE TABLE accounting.ledger (
                -- The router's request id: the primary key makes every write idempotent.
                request_id text PRIMARY KEY,
                started_at timestamptz NOT NULL,
                recorded_at timestamptz NOT NULL,
                -- Null for requests that never authenticated (e.g. a 401).
                token_id text NULL,
                token_name text NULL,
                requested_model text NOT NULL,
                served_model text NOT NULL,
                provider text NOT NULL,
                prompt_tokens int NOT NULL,
                completion_tokens int NOT NULL,
                cached_tokens int NOT NULL,
                cost_usd numeric(18,10) NOT NULL,
                latency_ms double precision NOT NULL,
                ttft_ms double precision NULL,
                status_code int NOT NULL,
                error_type text NULL,
                streamed bool NOT NULL);
            CREATE INDEX ledger_started_at ON accounting.ledger (started_at);
            """),
        new(2, "ledger cache writes, reasoning, estimated usage", """
            -- Defaults keep rows written before this migration valid: they had no such counts.
            ALTER TABLE accounting.ledger
                -- Part of prompt_tokens written to the provider's prompt cache.
                ADD COLUMN cache_write_tokens int NOT NULL DEFAULT 0,
                -- Part of completion_tokens spent on reasoning.
                ADD COLUMN reasoning_tokens int NOT NULL DEFAULT 0,
                -- The gateway counted the tokens because the provider reported none.
                ADD COLUMN usage_estimated boolean NOT NULL DEFAULT false;
            """),
        new(3, "ledger cache hits", """
            -- Answered from the router's response cache (cost 0). Rows before this migration were not.
            ALTER TABLE accounting.ledger ADD COLUMN cache_hit boolean NOT NULL DEFAULT false;
            """),
        new(4, "ledger attempts linked to their request", """
            -- Retries and fallbacks write one row per attempt; later attempts name the first
            -- (the client's request id). Null for a request's first or only attempt.
            ALTER TABLE accounting.ledger ADD COLUMN parent_request_id text NULL;
            CREATE INDEX ledger_parent_request_id ON accounting.ledger (parent_request_id) WHERE parent_request_id IS NOT NULL;
            """),
    ];
}
