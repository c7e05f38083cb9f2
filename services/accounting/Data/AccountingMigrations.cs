using Gateway.Aspire.Accounting.Ledger;

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

        // Numbered 10, not 5: it was written beside migrations 3 and 4 on other branches, and the
        // migrator applies every missing version in order, gaps allowed. This one copies the columns of the
        // table it replaces (LIKE) and recreates its secondary indexes, so it holds whether those run
        // before it (fresh database) or after it (ALTER TABLE and CREATE INDEX reach every partition).
        new(10, "ledger partitioned by day, identity, metadata, hourly rollup", """
            -- (1) The partitioned ledger: the old table's columns (whatever migrations added them) plus
            -- the new ones. A primary key must include the partition key: (request_id, started_at).
            ALTER TABLE accounting.ledger RENAME TO ledger_unpartitioned;
            ALTER INDEX accounting.ledger_pkey RENAME TO ledger_unpartitioned_pkey;
            CREATE TABLE accounting.ledger (LIKE accounting.ledger_unpartitioned INCLUDING DEFAULTS)
                PARTITION BY RANGE (started_at);
            ALTER TABLE accounting.ledger
                -- Who made the call; null when unknown.
                ADD COLUMN user_id text NULL,
                ADD COLUMN team text NULL,
                ADD COLUMN virtual_account text NULL,
                -- The caller's x-gateway-metadata.
                ADD COLUMN metadata jsonb NULL,
                -- (latency - ttft) / (completion_tokens - 1) for streams; null otherwise.
                ADD COLUMN time_per_output_token_ms double precision NULL,
                -- cached_tokens * (input price - cached input price): what the prompt cache saved.
                ADD COLUMN cache_savings_usd numeric(18,10) NOT NULL DEFAULT 0;

            -- (2) Hourly totals per dimension, kept in the same transaction as the rows (only rows
            -- newly inserted feed them, so duplicates never count twice): analytics read whole
            -- hours here and only the partial hours at a range's edges from the ledger.
            CREATE TABLE accounting.usage_hourly (
                hour timestamptz NOT NULL,
                -- model, target, provider, user, team, virtual_account, or all (value '').
                dimension text NOT NULL,
                -- '' when the rows had no value.
                value text NOT NULL,
                requests bigint NOT NULL,
                errors bigint NOT NULL,
                prompt_tokens bigint NOT NULL,
                completion_tokens bigint NOT NULL,
                cached_tokens bigint NOT NULL,
                cost_usd numeric NOT NULL,
                cache_savings_usd numeric NOT NULL,
                PRIMARY KEY (dimension, hour, value))
                PARTITION BY RANGE (hour);

            -- (3) One partition per UTC day of both tables, created ahead by the service and on
            -- demand by the writer; the lock serialises replicas creating the same day.
            CREATE FUNCTION accounting.ensure_ledger_partition(day date) RETURNS boolean
            LANGUAGE plpgsql AS $fn$
            DECLARE
                suffix text := to_char(day, 'YYYYMMDD');
                low timestamptz := day::timestamp AT TIME ZONE 'UTC';
                high timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
            BEGIN
                PERFORM pg_advisory_xact_lock(hashtext('accounting.ledger partitions'));
                IF to_regclass('accounting.ledger_p' || suffix) IS NOT NULL THEN
                    RETURN false;
                END IF;
                EXECUTE format('CREATE TABLE accounting.%I PARTITION OF accounting.ledger FOR VALUES FROM (%L) TO (%L)',
                    'ledger_p' || suffix, low, high);
                EXECUTE format('CREATE TABLE accounting.%I PARTITION OF accounting.usage_hourly FOR VALUES FROM (%L) TO (%L)',
                    'usage_hourly_p' || suffix, low, high);
                RETURN true;
            END
            $fn$;

            -- (4) Existing rows move over, then the totals are built from them.
            SELECT accounting.ensure_ledger_partition(day)
            FROM (SELECT DISTINCT (started_at AT TIME ZONE 'UTC')::date AS day FROM accounting.ledger_unpartitioned) AS days;
            INSERT INTO accounting.ledger SELECT * FROM accounting.ledger_unpartitioned;
            INSERT INTO accounting.usage_hourly
            SELECT date_trunc('hour', l.started_at, 'UTC'), d.dimension, d.value, count(*),
                count(*) FILTER (WHERE l.status_code >= 400), sum(l.prompt_tokens), sum(l.completion_tokens),
                sum(l.cached_tokens), sum(l.cost_usd), sum(l.cache_savings_usd)
            FROM accounting.ledger AS l
            CROSS JOIN LATERAL (VALUES ('model', l.requested_model), ('target', l.served_model), ('provider', l.provider),
                ('user', coalesce(l.user_id, '')), ('team', coalesce(l.team, '')),
                ('virtual_account', coalesce(l.virtual_account, '')), ('all', '')) AS d(dimension, value)
            GROUP BY 1, 2, 3;

            -- (5) Secondary indexes other migrations put on the old table come back on the new one.
            DO $do$
            DECLARE
                definitions text[];
                definition text;
            BEGIN
                SELECT coalesce(array_agg(pg_get_indexdef(i.indexrelid)), '{}') INTO definitions
                FROM pg_index AS i
                WHERE i.indrelid = 'accounting.ledger_unpartitioned'::regclass AND NOT i.indisprimary
                    AND i.indexrelid <> 'accounting.ledger_started_at'::regclass;
                DROP TABLE accounting.ledger_unpartitioned;
                FOREACH definition IN ARRAY definitions LOOP
                    EXECUTE replace(definition, ' ON accounting.ledger_unpartitioned ', ' ON accounting.ledger ');
                END LOOP;
            END
            $do$;

            -- (6) Keys and indexes, built once after the copy. Each index serves the analytics
            -- queries that leave the hourly totals: a team admin's view, the request log's filters.
            ALTER TABLE accounting.ledger ADD PRIMARY KEY (request_id, started_at);
            CREATE INDEX ledger_started_at ON accounting.ledger (started_at);
            CREATE INDEX ledger_team_started_at ON accounting.ledger (team, started_at);
            CREATE INDEX ledger_user_started_at ON accounting.ledger (user_id, started_at);
            CREATE INDEX ledger_model_started_at ON accounting.ledger (requested_model, started_at);
            """),

        // 15: the rollup that lets every analytics query answer from totals (docs/perf/ledger.md).
        new(15, "usage totals per hour and day, team-scoped, with metadata keys and latency histograms", $$"""
            {{UsageTotals.Functions}}

            -- Replaces usage_hourly: the same sums per (dimension, grain, team scope, bucket, value), so
            -- a team admin's view, a metadata key, a whole day and latency percentiles each read a
            -- handful of totals (what is kept where: services/accounting/Ledger/UsageTotals.cs).
            DROP TABLE accounting.usage_hourly;
            CREATE TABLE accounting.usage_totals (
                -- "C": byte order is all a key needs, and far cheaper to compare on every upsert.
                dimension text COLLATE "C" NOT NULL,
                grain text COLLATE "C" NOT NULL,
                team text COLLATE "C" NOT NULL,
                bucket_start timestamptz NOT NULL,
                value text COLLATE "C" NOT NULL,
                requests bigint NOT NULL,
                errors bigint NOT NULL,
                prompt_tokens bigint NOT NULL,
                completion_tokens bigint NOT NULL,
                cached_tokens bigint NOT NULL,
                cost_usd numeric NOT NULL,
                cache_savings_usd numeric NOT NULL,
                -- Dimension 'route' only: counts per accounting.latency_bucket.
                latency_hist bigint[] NULL,
                ttft_hist bigint[] NULL,
                PRIMARY KEY (dimension, grain, team, bucket_start, value))
                PARTITION BY RANGE (bucket_start);

            -- A day's partition of the ledger and of the totals are created (and dropped) together.
            CREATE OR REPLACE FUNCTION accounting.ensure_ledger_partition(day date) RETURNS boolean
            LANGUAGE plpgsql AS $fn$
            DECLARE
                suffix text := to_char(day, 'YYYYMMDD');
                low timestamptz := day::timestamp AT TIME ZONE 'UTC';
                high timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
            BEGIN
                PERFORM pg_advisory_xact_lock(hashtext('accounting.ledger partitions'));
                IF to_regclass('accounting.usage_totals_p' || suffix) IS NULL THEN
                    EXECUTE format('CREATE TABLE accounting.%I PARTITION OF accounting.usage_totals FOR VALUES FROM (%L) TO (%L)',
                        'usage_totals_p' || suffix, low, high);
                END IF;
                IF to_regclass('accounting.ledger_p' || suffix) IS NOT NULL THEN
                    RETURN false;
                END IF;
                EXECUTE format('CREATE TABLE accounting.%I PARTITION OF accounting.ledger FOR VALUES FROM (%L) TO (%L)',
                    'ledger_p' || suffix, low, high);
                RETURN true;
            END
            $fn$;

            SELECT accounting.ensure_ledger_partition(to_date(substr(c.relname, 9), 'YYYYMMDD'))
            FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'accounting.ledger'::regclass AND c.relname ~ '^ledger_p[0-9]{8}$';

            {{UsageTotals.UpsertFrom("accounting.ledger")}};
            """),
        new(17, "ledger guardrail findings", """
            -- What guardrails found or could not check for the call: [{rule, check, category, action,
            -- count, stage}], never content. Null when nothing was found (and for rows before this).
            ALTER TABLE accounting.ledger ADD COLUMN guardrails jsonb NULL;
            """),
        new(20, "usage totals fed from a queue of new ledger rows", $$"""
            -- The writer queues what the totals need of each new row here, in its own transaction;
            -- Ledger/UsageRollup moves the queue into usage_totals (delete + upsert in one statement),
            -- so a row counts exactly once, in the queue or in the totals. No index: read whole, small.
            CREATE TABLE accounting.{{UsageTotals.PendingTable}} (
                started_at timestamptz NOT NULL, requested_model text NOT NULL, served_model text NOT NULL,
                provider text NOT NULL, user_id text NULL, team text NULL, virtual_account text NULL, metadata jsonb NULL,
                status_code int NOT NULL, prompt_tokens int NOT NULL, completion_tokens int NOT NULL, cached_tokens int NOT NULL,
                cost_usd numeric NOT NULL, cache_savings_usd numeric NOT NULL, latency_ms double precision NOT NULL,
                ttft_ms double precision NULL);
            """),
        new(21, "latency histograms on the daily route totals", """
            -- Daily route totals (every team) get the histograms of their hours, so latency over
            -- whole days merges one histogram per day; the rollup keeps them from now on.
            UPDATE accounting.usage_totals AS d
            SET latency_hist = h.latency_hist, ttft_hist = h.ttft_hist
            FROM (
                SELECT value, date_trunc('day', bucket_start, 'UTC') AS day,
                    accounting.histogram_sum(latency_hist) AS latency_hist, accounting.histogram_sum(ttft_hist) AS ttft_hist
                FROM accounting.usage_totals
                WHERE dimension = 'route' AND grain = 'hour' AND team = ''
                GROUP BY 1, 2) AS h
            WHERE d.dimension = 'route' AND d.grain = 'day' AND d.team = '' AND d.value = h.value AND d.bucket_start = h.day;
            """),
    ];
}
