using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Ledger;
using Google.Protobuf.WellKnownTypes;

namespace Gateway.Aspire.LedgerBench;

/// <summary>
/// Deterministic synthetic calls shaped like a busy gateway's: 20 models on 5 providers, 1000
/// users in 50 teams, 200 virtual accounts, two metadata keys, 2 % errors, half streamed.
/// </summary>
internal static class SyntheticUsage
{
    private static readonly Price s_price = new() { InputPerMtok = "0.15", OutputPerMtok = "0.60", CachedInputPerMtok = "0.075" };

    /// <summary>Call <paramref name="i"/> of a run, started at <paramref name="startedAt"/>.</summary>
    public static LedgerEntry Entry(string run, long i, DateTimeOffset startedAt)
    {
        var user = (int)(i * 37 % 1000);
        var model = $"acct{i % 5}/model-{i % 20}";
        var record = new UsageRecord
        {
            RequestId = $"{run}-{i:D9}",
            StartedAt = Timestamp.FromDateTimeOffset(startedAt),
            TokenId = $"tok-{i % 200}",
            TokenName = $"va-{i % 200}",
            RequestedModel = model,
            ServedModel = model,
            Provider = $"provider-{i % 5}",
            PromptTokens = (int)(i * 7 % 4000) + 400,
            CompletionTokens = (int)(i * 13 % 1000) + 2,
            CachedTokens = (int)(i * 7 % 400),
            LatencyMs = 100 + i * 31 % 5000,
            TimeToFirstTokenMs = i % 2 == 0 ? 50 + i * 17 % 500 : 0,
            StatusCode = i % 50 == 0 ? 429 : 200,
            ErrorType = i % 50 == 0 ? "rate_limit_error" : "",
            Streamed = i % 2 == 0,
            Price = s_price,
            User = $"user-{user}",
            Team = $"team-{user / 20}",
            VirtualAccount = $"va-{i % 200}",
            Metadata = { ["project"] = $"p{i % 10}", ["env"] = i % 3 == 0 ? "dev" : "prod" },
        };
        return LedgerEntry.From(record, out var error) ?? throw new InvalidOperationException(error);
    }
}

/// <summary>
/// The same calls as <see cref="SyntheticUsage"/>, generated inside PostgreSQL: seeding millions of
/// rows through the writer takes the better part of an hour on this machine, so the bench can fill
/// the ledger with set-based SQL and build the totals with the same statement the writer and
/// migration 15 use (ingestion is then measured through the real writer on the full ledger).
/// </summary>
internal static class SyntheticUsageSql
{
    /// <summary>Inserts calls [<paramref name="first"/>, <paramref name="end"/>) of the seed run into the ledger and the totals.</summary>
    public static string Seed(long first, long end, double perDay, DateTimeOffset now) => $"""
        CREATE UNLOGGED TABLE IF NOT EXISTS public.bench_seed (LIKE accounting.ledger INCLUDING DEFAULTS);
        TRUNCATE public.bench_seed;
        INSERT INTO public.bench_seed (request_id, started_at, recorded_at, token_id, token_name, requested_model, served_model,
            provider, prompt_tokens, completion_tokens, cached_tokens, cost_usd, latency_ms, ttft_ms, status_code, error_type,
            streamed, user_id, team, virtual_account, metadata, time_per_output_token_ms, cache_savings_usd)
        SELECT 'seed-' || lpad(i::text, 9, '0'), t.started_at, t.started_at, 'tok-' || i % 200, 'va-' || i % 200,
            'acct' || i % 5 || '/model-' || i % 20, 'acct' || i % 5 || '/model-' || i % 20, 'provider-' || i % 5,
            i * 7 % 4000 + 400, i * 13 % 1000 + 2, i * 7 % 400,
            ((i * 7 % 4000 + 400 - i * 7 % 400) * 0.15 + (i * 7 % 400) * 0.075 + (i * 13 % 1000 + 2) * 0.60) / 1000000,
            100 + i * 31 % 5000, CASE WHEN i % 2 = 0 THEN 50 + i * 17 % 500 END,
            CASE WHEN i % 50 = 0 THEN 429 ELSE 200 END, CASE WHEN i % 50 = 0 THEN 'rate_limit_error' END, i % 2 = 0,
            'user-' || i * 37 % 1000, 'team-' || i * 37 % 1000 / 20, 'va-' || i % 200,
            jsonb_build_object('project', 'p' || i % 10, 'env', CASE WHEN i % 3 = 0 THEN 'dev' ELSE 'prod' END),
            CASE WHEN i % 2 = 0 THEN ((100 + i * 31 % 5000) - (50 + i * 17 % 500))::float8 / (i * 13 % 1000 + 1) END,
            (i * 7 % 400) * 0.075 / 1000000
        FROM generate_series({first}::bigint, {end - 1}::bigint) AS i
        CROSS JOIN LATERAL (SELECT '{now.UtcDateTime:O}'::timestamptz - (i / {perDay.ToString(System.Globalization.CultureInfo.InvariantCulture)}) * interval '1 day' AS started_at) AS t;
        SELECT count(accounting.ensure_ledger_partition(d)) FROM (SELECT DISTINCT (started_at AT TIME ZONE 'UTC')::date AS d FROM public.bench_seed) AS days;
        INSERT INTO accounting.ledger SELECT * FROM public.bench_seed;
        {Gateway.Aspire.Accounting.Ledger.UsageTotals.UpsertFrom("public.bench_seed")};
        """;
}
