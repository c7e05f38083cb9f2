namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>
/// The rollup beside the ledger, <c>accounting.usage_totals</c>: per grain (<c>hour</c> and
/// <c>day</c>), dimension (model, target, provider, user, team, virtual_account, <c>all</c> and
/// every <c>metadata.&lt;key&gt;</c>), value and team scope (<c>''</c> = every team, plus the
/// row's own team), the sums analytics answer from, and for model/target/provider at hour grain a
/// latency and a time-to-first-token histogram.
/// </summary>
/// <remarks>
/// One definition feeds both the writer (the rows an INSERT just returned, so duplicates never
/// count twice) and migration 15 (the rows already in the ledger), so the two cannot drift.
/// Histograms are <c>bigint[]</c> indexed by <c>accounting.latency_bucket</c>: bucket i holds
/// values in (γ^(i−1), γ^i] ms with γ = <see cref="Gamma"/>, bucket 0 everything ≤ 1 ms; arrays
/// span only the buckets seen (PostgreSQL keeps the lower bound), so they stay small.
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

    /// <summary>
    /// An <c>INSERT … ON CONFLICT DO UPDATE</c> adding the rows of <paramref name="source"/> (a
    /// relation with the ledger's columns, aliased <c>i</c>) to the totals; rows are grouped first
    /// and upserted in key order, so concurrent writers wait for each other instead of deadlocking.
    /// </summary>
    public static string UpsertFrom(string source) => $"""
        INSERT INTO accounting.usage_totals AS t (dimension, grain, team, bucket_start, value, requests, errors,
            prompt_tokens, completion_tokens, cached_tokens, cost_usd, cache_savings_usd, latency_hist, ttft_hist)
        SELECT d.dimension, g.grain, s.team, date_trunc(g.grain, i.started_at, 'UTC'), d.value, count(*),
            count(*) FILTER (WHERE i.status_code >= 400), sum(i.prompt_tokens), sum(i.completion_tokens),
            sum(i.cached_tokens), sum(i.cost_usd), sum(i.cache_savings_usd),
            accounting.histogram_of(array_agg(accounting.latency_bucket(i.latency_ms))
                FILTER (WHERE g.grain = 'hour' AND d.dimension IN ('model', 'target', 'provider'))),
            accounting.histogram_of(array_agg(accounting.latency_bucket(i.ttft_ms))
                FILTER (WHERE g.grain = 'hour' AND d.dimension IN ('model', 'target', 'provider') AND i.ttft_ms IS NOT NULL))
        FROM {source} AS i
        CROSS JOIN (VALUES ('hour'), ('day')) AS g (grain)
        CROSS JOIN LATERAL (SELECT '' UNION ALL SELECT i.team WHERE i.team <> '') AS s (team)
        CROSS JOIN LATERAL (
            VALUES ('model', i.requested_model), ('target', i.served_model), ('provider', i.provider),
                ('user', coalesce(i.user_id, '')), ('team', coalesce(i.team, '')),
                ('virtual_account', coalesce(i.virtual_account, '')), ('all', '')
            UNION ALL
            SELECT 'metadata.' || m.key, m.value
            FROM jsonb_each_text(CASE WHEN jsonb_typeof(i.metadata) = 'object' THEN i.metadata END) AS m
            WHERE octet_length(m.key) <= {MaxMetadataBytes} AND octet_length(m.value) <= {MaxMetadataBytes}) AS d (dimension, value)
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
