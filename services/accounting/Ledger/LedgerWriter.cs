using Npgsql;
using NpgsqlTypes;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>Writes ledger rows to <c>accounting.ledger</c>.</summary>
public sealed class LedgerWriter(NpgsqlDataSource dataSource)
{
    // One statement for the whole batch: one round trip, one implicit transaction (all rows or
    // none), and ON CONFLICT makes a retried batch write nothing twice. Arrays through unnest
    // rather than a multi-row VALUES list keep the statement text constant, so it is prepared once.
    private const string InsertSql = """
        INSERT INTO accounting.ledger (
            request_id, started_at, recorded_at, token_id, token_name, requested_model, served_model, provider,
            prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, usage_estimated,
            cost_usd, latency_ms, ttft_ms, status_code, error_type, streamed, cache_hit, parent_request_id)
        SELECT u.request_id, u.started_at, $1, u.token_id, u.token_name, u.requested_model, u.served_model, u.provider,
            u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.cache_write_tokens, u.reasoning_tokens, u.usage_estimated,
            u.cost_usd, u.latency_ms, u.ttft_ms, u.status_code, u.error_type, u.streamed, u.cache_hit, u.parent_request_id
        FROM unnest($2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::int[], $10::int[], $11::int[], $12::int[], $13::int[], $14::bool[],
            $15::numeric[], $16::float8[], $17::float8[], $18::int[], $19::text[], $20::bool[], $21::bool[], $22::text[])
            AS u(request_id, started_at, token_id, token_name, requested_model, served_model, provider,
                prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, usage_estimated,
                cost_usd, latency_ms, ttft_ms, status_code, error_type, streamed, cache_hit, parent_request_id)
        ON CONFLICT (request_id) DO NOTHING
        """;

    /// <summary>
    /// Inserts <paramref name="entries"/> in one statement and returns how many rows were new; the
    /// rest were already in the ledger. Returns after PostgreSQL committed.
    /// </summary>
    public async Task<int> WriteAsync(IReadOnlyList<LedgerEntry> entries, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return 0;
        }

        await using var command = dataSource.CreateCommand(InsertSql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = recordedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        p.Add(Array(entries, e => e.RequestId));
        p.Add(Array(entries, e => e.StartedAt));
        p.Add(Array(entries, e => e.TokenId));
        p.Add(Array(entries, e => e.TokenName));
        p.Add(Array(entries, e => e.RequestedModel));
        p.Add(Array(entries, e => e.ServedModel));
        p.Add(Array(entries, e => e.Provider));
        p.Add(Array(entries, e => e.PromptTokens));
        p.Add(Array(entries, e => e.CompletionTokens));
        p.Add(Array(entries, e => e.CachedTokens));
        p.Add(Array(entries, e => e.CacheWriteTokens));
        p.Add(Array(entries, e => e.ReasoningTokens));
        p.Add(Array(entries, e => e.UsageEstimated));
        p.Add(Array(entries, e => e.CostUsd));
        p.Add(Array(entries, e => e.LatencyMs));
        p.Add(Array(entries, e => e.TtftMs));
        p.Add(Array(entries, e => e.StatusCode));
        p.Add(Array(entries, e => e.ErrorType));
        p.Add(Array(entries, e => e.Streamed));
        p.Add(Array(entries, e => e.CacheHit));
        p.Add(Array(entries, e => e.ParentRequestId));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter<T[]> Array<T>(IReadOnlyList<LedgerEntry> entries, Func<LedgerEntry, T> select)
    {
        var values = new T[entries.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = select(entries[i]);
        }

        return new NpgsqlParameter<T[]> { TypedValue = values };
    }
}
