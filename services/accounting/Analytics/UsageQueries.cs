using System.Globalization;
using Gateway.Aspire.Accounting.Grpc;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using NpgsqlTypes;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>
/// The analytics SQL. Usage over the fixed dimensions reads whole hours from the hourly totals and
/// only the partial hours at the range's edges from the rows, so a 30-day range reads ~720 totals
/// per group instead of millions of rows (docs/perf/ledger.md); a team filter or a metadata key
/// needs the rows themselves (the team index keeps a team's share small).
/// </summary>
internal sealed class UsageQueries(NpgsqlDataSource dataSource)
{
    private const string RowSums = """
        1 AS requests, (status_code >= 400)::int AS errors, prompt_tokens, completion_tokens, cached_tokens,
        cost_usd, cache_savings_usd
        """;

    /// <summary>Usage rows grouped by <paramref name="groupBy"/>, bucketed by <paramref name="bucket"/> (null: none).</summary>
    public async Task<UsageReply> UsageAsync(AnalyticsRange range, GroupBy groupBy, string? bucket, int top, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("from", NpgsqlDbType.TimestampTz) { Value = range.From });
        p.Add(new NpgsqlParameter("to", NpgsqlDbType.TimestampTz) { Value = range.To });
        if (groupBy.MetadataKey is { } key)
        {
            p.Add(new NpgsqlParameter("metadata_key", NpgsqlDbType.Text) { Value = key });
        }

        string source;
        if (groupBy.RollupDimension is { } dimension && range.Team is null)
        {
            // Whole hours inside [from, to) from the totals; the rest (at most two partial hours) from the rows.
            var wholeFrom = CeilingHour(range.From);
            var wholeTo = FloorHour(range.To);
            if (wholeFrom >= wholeTo)
            {
                wholeFrom = wholeTo = range.To;
            }

            p.Add(new NpgsqlParameter("whole_from", NpgsqlDbType.TimestampTz) { Value = wholeFrom });
            p.Add(new NpgsqlParameter("whole_to", NpgsqlDbType.TimestampTz) { Value = wholeTo });
            p.Add(new NpgsqlParameter("dimension", NpgsqlDbType.Text) { Value = dimension });
            source = $"""
                SELECT nullif(value, '') AS grp, {Bucket(bucket, "hour")} AS bucket, requests, errors, prompt_tokens,
                    completion_tokens, cached_tokens, cost_usd, cache_savings_usd
                FROM accounting.usage_hourly WHERE dimension = @dimension AND hour >= @whole_from AND hour < @whole_to
                UNION ALL
                SELECT {groupBy.Expression}, {Bucket(bucket, "started_at")}, {RowSums}
                FROM accounting.ledger WHERE started_at >= @from AND started_at < @whole_from
                UNION ALL
                SELECT {groupBy.Expression}, {Bucket(bucket, "started_at")}, {RowSums}
                FROM accounting.ledger WHERE started_at >= @whole_to AND started_at < @to
                """;
        }
        else
        {
            source = $"""
                SELECT {groupBy.Expression} AS grp, {Bucket(bucket, "started_at")} AS bucket, {RowSums}
                FROM accounting.ledger WHERE started_at >= @from AND started_at < @to{TeamFilter(range, p)}
                """;
        }

        var order = top > 0 ? $"sum(cost_usd) DESC, grp NULLS FIRST LIMIT {top.ToString(CultureInfo.InvariantCulture)}" : "bucket NULLS FIRST, grp NULLS FIRST";
        command.CommandText = $"""
            SELECT grp, bucket, sum(requests)::bigint, sum(errors)::bigint, sum(prompt_tokens)::bigint,
                sum(completion_tokens)::bigint, sum(cached_tokens)::bigint, sum(cost_usd), sum(cache_savings_usd)
            FROM ({source}) AS t
            GROUP BY grp, bucket
            ORDER BY {order}
            """;

        var reply = new UsageReply();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new UsageRow
            {
                Requests = reader.GetInt64(2),
                Errors = reader.GetInt64(3),
                PromptTokens = reader.GetInt64(4),
                CompletionTokens = reader.GetInt64(5),
                CachedTokens = reader.GetInt64(6),
                CostUsd = Money(reader.GetDecimal(7)),
                CacheSavingsUsd = Money(reader.GetDecimal(8)),
            };
            if (!reader.IsDBNull(0))
            {
                row.Group = reader.GetString(0);
            }

            if (!reader.IsDBNull(1))
            {
                row.Bucket = Timestamp.FromDateTime(reader.GetDateTime(1));
            }

            reply.Rows.Add(row);
        }

        return reply;
    }

    /// <summary>Latency and TTFT percentiles per group (from the rows: percentiles do not add up across hours).</summary>
    public async Task<LatencyReply> LatencyAsync(AnalyticsRange range, string column, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("from", NpgsqlDbType.TimestampTz) { Value = range.From });
        p.Add(new NpgsqlParameter("to", NpgsqlDbType.TimestampTz) { Value = range.To });
        command.CommandText = $"""
            SELECT {column}, count(*),
                percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms),
                count(ttft_ms),
                percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ttft_ms)
            FROM accounting.ledger WHERE started_at >= @from AND started_at < @to{TeamFilter(range, p)}
            GROUP BY 1 ORDER BY 1
            """;

        var reply = new LatencyReply();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var latency = reader.GetFieldValue<double[]>(2);
            var row = new LatencyRow
            {
                Group = reader.GetString(0),
                Requests = reader.GetInt64(1),
                LatencyP50Ms = latency[0],
                LatencyP95Ms = latency[1],
                LatencyP99Ms = latency[2],
                Streamed = reader.GetInt64(3),
            };
            if (!reader.IsDBNull(4))
            {
                var ttft = reader.GetFieldValue<double[]>(4);
                (row.TtftP50Ms, row.TtftP95Ms, row.TtftP99Ms) = (ttft[0], ttft[1], ttft[2]);
            }

            reply.Rows.Add(row);
        }

        return reply;
    }

    /// <summary>One page of the request log, newest first.</summary>
    public async Task<RequestPage> SearchAsync(AnalyticsRange range, RequestSearch search, int limit, RequestCursor? after, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("from", NpgsqlDbType.TimestampTz) { Value = range.From });
        p.Add(new NpgsqlParameter("to", NpgsqlDbType.TimestampTz) { Value = range.To });
        var filters = TeamFilter(range, p);
        if (search.RequestId.Length > 0)
        {
            p.Add(new NpgsqlParameter("request_id", NpgsqlDbType.Text) { Value = search.RequestId });
            filters += " AND request_id = @request_id";
        }

        if (search.User.Length > 0)
        {
            p.Add(new NpgsqlParameter("user", NpgsqlDbType.Text) { Value = search.User });
            filters += " AND user_id = @user";
        }

        if (search.Model.Length > 0)
        {
            p.Add(new NpgsqlParameter("model", NpgsqlDbType.Text) { Value = search.Model });
            filters += " AND (requested_model = @model OR served_model = @model)";
        }

        if (search.StatusCode != 0)
        {
            p.Add(new NpgsqlParameter("status", NpgsqlDbType.Integer) { Value = search.StatusCode });
            filters += " AND status_code = @status";
        }

        if (after is { } cursor)
        {
            p.Add(new NpgsqlParameter("after_time", NpgsqlDbType.TimestampTz) { Value = cursor.StartedAt });
            p.Add(new NpgsqlParameter("after_id", NpgsqlDbType.Text) { Value = cursor.RequestId });
            filters += " AND (started_at, request_id) < (@after_time, @after_id)";
        }

        // One row more than asked tells whether there is a next page.
        command.CommandText = $"""
            SELECT request_id, started_at, user_id, team, virtual_account, token_name, requested_model, served_model,
                provider, status_code, error_type, prompt_tokens, completion_tokens, cached_tokens, cost_usd, latency_ms,
                ttft_ms, streamed, metadata::text, guardrails::text
            FROM accounting.ledger WHERE started_at >= @from AND started_at < @to{filters}
            ORDER BY started_at DESC, request_id DESC
            LIMIT {(limit + 1).ToString(CultureInfo.InvariantCulture)}
            """;

        var page = new RequestPage();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (page.Rows.Count == limit)
            {
                var last = page.Rows[^1];
                page.NextCursor = new RequestCursor(last.StartedAt.ToDateTimeOffset(), last.RequestId).Encode();
                break;
            }

            page.Rows.Add(ReadLogRow(reader));
        }

        return page;
    }

    private static RequestLogRow ReadLogRow(NpgsqlDataReader reader)
    {
        var row = new RequestLogRow
        {
            RequestId = reader.GetString(0),
            StartedAt = Timestamp.FromDateTime(reader.GetDateTime(1)),
            User = TextOrEmpty(reader, 2),
            Team = TextOrEmpty(reader, 3),
            VirtualAccount = TextOrEmpty(reader, 4),
            TokenName = TextOrEmpty(reader, 5),
            RequestedModel = reader.GetString(6),
            ServedModel = reader.GetString(7),
            Provider = reader.GetString(8),
            StatusCode = reader.GetInt32(9),
            ErrorType = TextOrEmpty(reader, 10),
            PromptTokens = reader.GetInt32(11),
            CompletionTokens = reader.GetInt32(12),
            CachedTokens = reader.GetInt32(13),
            CostUsd = Money(reader.GetDecimal(14)),
            LatencyMs = reader.GetDouble(15),
            Streamed = reader.GetBoolean(17),
        };
        if (!reader.IsDBNull(16))
        {
            row.TtftMs = reader.GetDouble(16);
        }

        if (!reader.IsDBNull(18))
        {
            using var metadata = System.Text.Json.JsonDocument.Parse(reader.GetString(18));
            foreach (var property in metadata.RootElement.EnumerateObject())
            {
                row.Metadata[property.Name] = property.Value.GetString() ?? "";
            }
        }

        if (!reader.IsDBNull(19))
        {
            Gateway.Aspire.Accounting.Ledger.LedgerMetadata.ReadFindings(reader.GetString(19), row.Guardrails);
        }

        return row;
    }

    private static string TeamFilter(AnalyticsRange range, NpgsqlParameterCollection parameters)
    {
        if (range.Team is null)
        {
            return "";
        }

        parameters.Add(new NpgsqlParameter("team", NpgsqlDbType.Text) { Value = range.Team });
        return " AND team = @team";
    }

    private static string Bucket(string? bucket, string column) => bucket is null
        ? "NULL::timestamptz"
        : $"date_trunc('{bucket}', {column}, 'UTC')";

    private static string TextOrEmpty(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? "" : reader.GetString(ordinal);

    // Without trailing zeros (1.5, not 1.5000000000): the scale PostgreSQL keeps says nothing about the amount.
    private static string Money(decimal value) => value.ToString("0.############################", CultureInfo.InvariantCulture);

    private static DateTimeOffset FloorHour(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerHour, TimeSpan.Zero);

    private static DateTimeOffset CeilingHour(DateTimeOffset t)
    {
        var floor = FloorHour(t);
        return floor == t ? floor : floor.AddHours(1);
    }
}
