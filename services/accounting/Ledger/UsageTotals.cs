namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>
/// The rollup beside the ledger, <c>accounting.usage_totals</c>: sums per dimension, grain
/// (<c>hour</c>, <c>day</c>), team scope, bucket and value, so every analytics query reads totals
/// and only the partial hours at a range's edges from the rows.
/// </summary>
/// <remarks>
/// <para>What is kept, chosen so each query reads few totals while a batch upserts as few as it can
/// (each upserted total costs the writer about as much as a ledger row; docs/perf/ledger.md):</para>
/// <list type="bullet">
/// <item><b>Owned</b> dimensions (<c>user</c>, <c>virtual_account</c>, <c>team</c>), which a team
/// nearly determines: one total per hour and per day under the row's own team (<c>''</c> without
/// one). A team's view filters on it; the whole gateway's view sums over teams (≈ one each).</item>
/// <item><b>Route</b> (<c>[model, target, provider]</c> as a JSON array, which answers grouping by
/// any of the three or by nothing) and every <c>metadata.&lt;key&gt;</c>, which every team spreads
/// over: per hour and day for every team together (scope <c>''</c>), and per hour under the row's
/// team (a team reads its hours). A route's totals carry a latency and a time-to-first-token
/// histogram (per day too since migration 21: a 30-day percentile merges 30 of them per route, not 720). One route dimension instead of model, target, provider and all: a route is about as
/// many totals as a target, and four times fewer upserts.</item>
/// </list>
/// <para>One definition feeds both <see cref="UsageRollup"/> (the queued rows the writer's INSERT
/// returned, so duplicates never count twice) and migration 15 (the rows already in the ledger), so
/// the two cannot drift.
/// Histograms are <c>bigint[]</c> indexed by <c>accounting.latency_bucket</c>: bucket i holds
/// values in (γ^(i−1), γ^i] ms with γ = <see cref="Gamma"/>, bucket 0 everything ≤ 1 ms; arrays
/// span only the buckets seen (PostgreSQL keeps the lower bound), so they stay small.</para>
/// </remarks>
internal static class UsageTotals
{
    /// <summary>Growth factor between histogram bucket bounds.</summary>
    public const double Gamma = 1.1;

    /// <summary>The team scope holding every team's calls (and those with no team).</summary>
    public const string EveryTeam = "";

    // Longest metadata key or value (in bytes) kept in the rollup: the primary key's btree entry
    // must stay under PostgreSQL's ~2.7 kB limit. The router sends at most 256 characters each.
    private const int MaxMetadataBytes = 1000;

    /// <summary>The functions the rollup and the latency queries use (part of migration 15).</summary>
    public const string Functions = """
        -- Histogram bucket of a duration in ms: i such that γ^(i-1) < ms <= γ^i (γ = 1.1), 0 up to 1 ms.
        CREATE FUNCTION accounting.latency_bucket(ms double precision) RETURNS int
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $fn$ SELECT CASE WHEN ms <= 1 THEN 0 ELSE least(ceil(ln(ms) / ln(1.1)), 400)::int END $fn$;

        -- Counts per bucket of a list of bucket numbers: one call per group, not per row.
        CREATE FUNCTION accounting.histogram_of(buckets int[]) RETURNS bigint[]
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
        DECLARE
            result bigint[] := '{}';
            b int;
        BEGIN
            FOREACH b IN ARRAY buckets LOOP
                IF b IS NOT NULL THEN
                    result[b] := coalesce(result[b], 0) + 1;
                END IF;
            END LOOP;
            RETURN CASE WHEN cardinality(result) = 0 THEN NULL ELSE result END;
        END
        $fn$;

        -- Bucket-wise sum of two histograms (either may be null).
        CREATE FUNCTION accounting.histogram_merge(a bigint[], b bigint[]) RETURNS bigint[]
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
        BEGIN
            IF a IS NULL OR cardinality(a) = 0 THEN
                RETURN b;
            END IF;
            IF b IS NULL OR cardinality(b) = 0 THEN
                RETURN a;
            END IF;
            FOR i IN array_lower(b, 1) .. array_upper(b, 1) LOOP
                IF b[i] IS NOT NULL THEN
                    a[i] := coalesce(a[i], 0) + b[i];
                END IF;
            END LOOP;
            RETURN a;
        END
        $fn$;

        CREATE AGGREGATE accounting.histogram_sum(bigint[]) (SFUNC = accounting.histogram_merge, STYPE = bigint[]);
        """;

    /// <summary>Dimensions kept only under each row's own team (see the remarks).</summary>
    public static readonly IReadOnlySet<string> OwnedDimensions = new HashSet<string>(StringComparer.Ordinal) { "user", "virtual_account", "team" };

    /// <summary>The dimension whose totals carry the latency histograms.</summary>
    public const string Route = "route";

    /// <summary>
    /// The queue of new ledger rows not yet in the totals (<c>accounting.usage_pending</c>, migration
    /// 20): the writer appends, <see cref="UsageRollup"/> moves. Queries read it beside the totals.
    /// </summary>
    public const string PendingTable = "usage_pending";

    /// <summary>The ledger columns the totals are computed from: the pending table's columns.</summary>
    public const string SourceColumns = """
        started_at, requested_model, served_model, provider, user_id, team, virtual_account, metadata,
        status_code, prompt_tokens, completion_tokens, cached_tokens, cost_usd, cache_savings_usd, latency_ms, ttft_ms
        """;

    /// <summary>
    /// An <c>INSERT … ON CONFLICT DO UPDATE</c> adding the rows of <paramref name="source"/> (a
    /// relation with <see cref="SourceColumns"/>, aliased <c>i</c>) to the totals, each total once,
    /// in key order (so concurrent writers would wait for each other instead of deadlocking).
    /// </summary>
    /// <remarks>
    /// Two steps, because the expansion is the cost (EXPLAIN ANALYZE in docs/perf/ledger.md): each
    /// row is first summed per dimension value under its own team and hour (6 expanded rows per
    /// row, hash-aggregated), and only those sums are spread over the five (grain, scope) totals
    /// they feed; spreading the rows themselves sorted 15 expanded rows per row.
    /// </remarks>
    public static string UpsertFrom(string source) => $"""
        INSERT INTO accounting.usage_totals AS t (dimension, grain, team, bucket_start, value, requests, errors,
            prompt_tokens, completion_tokens, cached_tokens, cost_usd, cache_savings_usd, latency_hist, ttft_hist)
        SELECT b.dimension COLLATE "C", s.grain COLLATE "C", (CASE WHEN s.scope = 'every' THEN '' ELSE b.team END) COLLATE "C",
            CASE WHEN s.grain = 'hour' THEN b.hour ELSE date_trunc('day', b.hour, 'UTC') END, b.value COLLATE "C",
            sum(b.requests), sum(b.errors), sum(b.prompt_tokens), sum(b.completion_tokens), sum(b.cached_tokens),
            sum(b.cost_usd), sum(b.cache_savings_usd),
            accounting.histogram_sum(b.latency_hist), accounting.histogram_sum(b.ttft_hist)
        FROM (
            SELECT d.dimension, coalesce(i.team, '') AS team, date_trunc('hour', i.started_at, 'UTC') AS hour, d.value, d.owned,
                count(*) AS requests, count(*) FILTER (WHERE i.status_code >= 400) AS errors, sum(i.prompt_tokens) AS prompt_tokens,
                sum(i.completion_tokens) AS completion_tokens, sum(i.cached_tokens) AS cached_tokens, sum(i.cost_usd) AS cost_usd,
                sum(i.cache_savings_usd) AS cache_savings_usd,
                accounting.histogram_of(array_agg(accounting.latency_bucket(i.latency_ms)) FILTER (WHERE d.dimension = '{Route}')) AS latency_hist,
                accounting.histogram_of(array_agg(accounting.latency_bucket(i.ttft_ms)) FILTER (WHERE d.dimension = '{Route}' AND i.ttft_ms IS NOT NULL)) AS ttft_hist
            FROM {source} AS i
            CROSS JOIN LATERAL (
                VALUES ('user', coalesce(i.user_id, ''), true), ('team', coalesce(i.team, ''), true),
                    ('virtual_account', coalesce(i.virtual_account, ''), true),
                    ('{Route}', jsonb_build_array(i.requested_model, i.served_model, i.provider)::text, false)
                UNION ALL
                SELECT 'metadata.' || m.key, m.value, false
                FROM jsonb_each_text(CASE WHEN jsonb_typeof(i.metadata) = 'object' THEN i.metadata END) AS m
                WHERE octet_length(m.key) <= {MaxMetadataBytes} AND octet_length(m.value) <= {MaxMetadataBytes}) AS d (dimension, value, owned)
            GROUP BY 1, 2, 3, 4, 5) AS b
        JOIN (VALUES ('hour', 'own'), ('day', 'own'), ('hour', 'every'), ('day', 'every'), ('hour', 'team')) AS s (grain, scope)
            ON (s.scope = 'own') = b.owned
            AND (s.scope <> 'team' OR b.team <> '')
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (dimension, grain, team, bucket_start, value) DO UPDATE SET
            requests = t.requests + excluded.requests,
            errors = t.errors + excluded.errors,
            prompt_tokens = t.prompt_tokens + excluded.prompt_tokens,
            completion_tokens = t.completion_tokens + excluded.completion_tokens,
            cached_tokens = t.cached_tokens + excluded.cached_tokens,
            cost_usd = t.cost_usd + excluded.cost_usd,
            cache_savings_usd = t.cache_savings_usd + excluded.cache_savings_usd,
            latency_hist = accounting.histogram_merge(t.latency_hist, excluded.latency_hist),
            ttft_hist = accounting.histogram_merge(t.ttft_hist, excluded.ttft_hist)
        """;
}
