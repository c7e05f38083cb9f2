using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>
/// Writes ledger rows to <c>accounting.ledger</c> and queues the new ones for the totals in
/// <c>accounting.usage_totals</c> (<see cref="UsageTotals"/>, <see cref="UsageRollup"/>), in one transaction.
/// </summary>
/// <remarks>
/// Idempotent: the key is (request_id, started_at), and a retried record carries the same both
/// (the router stamps started_at once per attempt and resends the same record), so ON CONFLICT DO
/// NOTHING drops a duplicate whether it comes in a later batch or the same one. Only rows the
/// INSERT returns (the new ones) are queued for the totals, so a duplicate never counts twice there
/// either. Rows are inserted in key order so two writers with overlapping batches wait for each
/// other instead of deadlocking. The totals are not upserted here: a batch of 500 touched ~3,000
/// totals (6 per row), most of them again in the next batch; the rollup upserts each total once per
/// round of many batches (docs/perf/ledger.md).
/// </remarks>
public sealed class LedgerWriter(NpgsqlDataSource dataSource, LedgerPartitions partitions, IOptions<LedgerOptions> options)
{
    // The batch's columns, in the order COPY and unnest send them.
    private const string Columns = """
        request_id, started_at, token_id, token_name, requested_model, served_model, provider,
        prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, usage_estimated,
        cost_usd, latency_ms, ttft_ms, status_code, error_type, streamed,
        user_id, team, virtual_account, metadata, time_per_output_token_ms, cache_savings_usd,
        cache_hit, parent_request_id, guardrails
        """;

    private const string StagingTable = """
        CREATE TEMP TABLE ledger_staging (
            request_id text, started_at timestamptz, token_id text, token_name text, requested_model text,
            served_model text, provider text, prompt_tokens int, completion_tokens int, cached_tokens int,
            cache_write_tokens int, reasoning_tokens int, usage_estimated bool, cost_usd numeric, latency_ms float8,
            ttft_ms float8, status_code int, error_type text, streamed bool, user_id text, team text,
            virtual_account text, metadata jsonb, time_per_output_token_ms float8, cache_savings_usd numeric,
            cache_hit bool, parent_request_id text, guardrails jsonb)
        ON COMMIT DROP
        """;

    private const string UnnestSource = """
        unnest($2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::int[], $10::int[], $11::int[], $12::int[], $13::int[], $14::bool[],
            $15::numeric[], $16::float8[], $17::float8[], $18::int[], $19::text[], $20::bool[],
            $21::text[], $22::text[], $23::text[], $24::jsonb[], $25::float8[], $26::numeric[],
            $27::bool[], $28::text[], $29::jsonb[])
        """;

    private static readonly string s_copySql = InsertSql("ledger_staging");
    private static readonly string s_unnestSql = InsertSql(UnnestSource);

    /// <summary>
    /// Inserts <paramref name="entries"/> and returns how many rows were new; the rest were already
    /// in the ledger. Returns after PostgreSQL committed.
    /// </summary>
    public async Task<int> WriteAsync(IReadOnlyList<LedgerEntry> entries, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return 0;
        }

        await partitions.EnsureAsync(entries.Select(e => LedgerPartitions.DayOf(e.StartedAt)), cancellationToken);
        try
        {
            return await WriteOnceAsync(entries, recordedAt, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.CheckViolation)
        {
            // No partition for a row: another replica dropped a day this one still believed in.
            partitions.Forget();
            await partitions.EnsureAsync(entries.Select(e => LedgerPartitions.DayOf(e.StartedAt)), cancellationToken);
            return await WriteOnceAsync(entries, recordedAt, cancellationToken);
        }
    }

    private async Task<int> WriteOnceAsync(IReadOnlyList<LedgerEntry> entries, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (options.Value.WriteMethod == LedgerWriteMethod.Unnest)
        {
            await using var single = new NpgsqlCommand(s_unnestSql, connection);
            AddRecordedAt(single, recordedAt);
            AddArrays(single.Parameters, entries);
            return Convert.ToInt32(await single.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var create = new NpgsqlCommand(StagingTable, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var importer = await connection.BeginBinaryImportAsync($"COPY ledger_staging ({Columns}) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var entry in entries)
            {
                await WriteRowAsync(importer, entry, cancellationToken);
            }

            await importer.CompleteAsync(cancellationToken);
        }

        int written;
        await using (var insert = new NpgsqlCommand(s_copySql, connection, transaction))
        {
            AddRecordedAt(insert, recordedAt);
            written = Convert.ToInt32(await insert.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        await transaction.CommitAsync(cancellationToken);
        return written;
    }

    private static string InsertSql(string source) => $"""
        WITH inserted AS (
            INSERT INTO accounting.ledger (recorded_at, {Columns})
            SELECT $1, {Columns} FROM {source} AS u ({Columns})
            ORDER BY request_id, started_at
            ON CONFLICT (request_id, started_at) DO NOTHING
            RETURNING {UsageTotals.SourceColumns}),
        queued AS (
            INSERT INTO accounting.{UsageTotals.PendingTable} ({UsageTotals.SourceColumns}) SELECT {UsageTotals.SourceColumns} FROM inserted)
        SELECT count(*) FROM inserted
        """;

    private static void AddRecordedAt(NpgsqlCommand command, DateTimeOffset recordedAt) =>
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = recordedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });

    private static async Task WriteRowAsync(NpgsqlBinaryImporter importer, LedgerEntry e, CancellationToken cancellationToken)
    {
        await importer.StartRowAsync(cancellationToken);
        await importer.WriteAsync(e.RequestId, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(e.StartedAt, NpgsqlDbType.TimestampTz, cancellationToken);
        await WriteNullableAsync(importer, e.TokenId, NpgsqlDbType.Text, cancellationToken);
        await WriteNullableAsync(importer, e.TokenName, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(e.RequestedModel, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(e.ServedModel, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(e.Provider, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(e.PromptTokens, NpgsqlDbType.Integer, cancellationToken);
        await importer.WriteAsync(e.CompletionTokens, NpgsqlDbType.Integer, cancellationToken);
        await importer.WriteAsync(e.CachedTokens, NpgsqlDbType.Integer, cancellationToken);
        await importer.WriteAsync(e.CacheWriteTokens, NpgsqlDbType.Integer, cancellationToken);
        await importer.WriteAsync(e.ReasoningTokens, NpgsqlDbType.Integer, cancellationToken);
        await importer.WriteAsync(e.UsageEstimated, NpgsqlDbType.Boolean, cancellationToken);
        await importer.WriteAsync(e.CostUsd, NpgsqlDbType.Numeric, cancellationToken);
        await importer.WriteAsync(e.LatencyMs, NpgsqlDbType.Double, cancellationToken);
        await WriteNullableAsync(importer, e.TtftMs, NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(e.StatusCode, NpgsqlDbType.Integer, cancellationToken);
        await WriteNullableAsync(importer, e.ErrorType, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(e.Streamed, NpgsqlDbType.Boolean, cancellationToken);
        await WriteNullableAsync(importer, e.User, NpgsqlDbType.Text, cancellationToken);
        await WriteNullableAsync(importer, e.Team, NpgsqlDbType.Text, cancellationToken);
        await WriteNullableAsync(importer, e.VirtualAccount, NpgsqlDbType.Text, cancellationToken);
        await WriteNullableAsync(importer, e.MetadataJson, NpgsqlDbType.Jsonb, cancellationToken);
        await WriteNullableAsync(importer, e.TimePerOutputTokenMs, NpgsqlDbType.Double, cancellationToken);
        await importer.WriteAsync(e.CacheSavingsUsd, NpgsqlDbType.Numeric, cancellationToken);
        await importer.WriteAsync(e.CacheHit, NpgsqlDbType.Boolean, cancellationToken);
        await WriteNullableAsync(importer, e.ParentRequestId, NpgsqlDbType.Text, cancellationToken);
        await WriteNullableAsync(importer, e.GuardrailsJson, NpgsqlDbType.Jsonb, cancellationToken);
    }

    private static Task WriteNullableAsync(NpgsqlBinaryImporter importer, string? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : struct =>
        value is { } v ? importer.WriteAsync(v, type, cancellationToken) : importer.WriteNullAsync(cancellationToken);

    private static void AddArrays(NpgsqlParameterCollection p, IReadOnlyList<LedgerEntry> entries)
    {
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
        p.Add(Array(entries, e => e.User));
        p.Add(Array(entries, e => e.Team));
        p.Add(Array(entries, e => e.VirtualAccount));
        p.Add(Jsonb(entries, e => e.MetadataJson));
        p.Add(Array(entries, e => e.TimePerOutputTokenMs));
        p.Add(Array(entries, e => e.CacheSavingsUsd));
        p.Add(Array(entries, e => e.CacheHit));
        p.Add(Array(entries, e => e.ParentRequestId));
        p.Add(Jsonb(entries, e => e.GuardrailsJson));
    }

    private static NpgsqlParameter<string?[]> Jsonb(IReadOnlyList<LedgerEntry> entries, Func<LedgerEntry, string?> select) =>
        new() { TypedValue = [.. entries.Select(select)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb };

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
