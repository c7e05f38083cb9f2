using System.Globalization;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Ledger;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using NpgsqlTypes;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>
/// The analytics SQL. Usage and latency read whole days and hours from <c>accounting.usage_totals</c>
/// (<see cref="UsageTotals"/>: scoped to the caller's team, or every team) and only the partial hours
/// at the range's edges from the rows (and the rows still queued for the totals: UsageRollup), so the answer is exact for any [from, to) and a 30-day range
/// reads ~30 daily totals per group instead of millions of rows (docs/perf/ledger.md).
/// </summary>
internal sealed class UsageQueries(NpgsqlDataSource dataSource)
{
    private const string RowSums = """
        1 AS requests, (status_code >= 400)::int AS errors, prompt_tokens, completion_tokens, cached_tokens,
        cost_usd, cache_savings_usd
        """;

    private const string TotalSums = "requests, errors, prompt_tokens, completion_tokens, cached_tokens, cost_usd, cache_savings_usd";

    private const string NegatedTotalSums = "-requests, -errors, -prompt_tokens, -completion_tokens, -cached_tokens, -cost_usd, -cache_savings_usd";

    /// <summary>
    /// About how many bytes of rows a page holds at most: the router's gRPC client takes messages of
    /// up to 4 MB, and 10,000 rows with 256-character groups would not fit.
    /// </summary>
    public const int MaxPageBytes = 2 * 1024 * 1024;

    /// <summary>
    /// Top <paramref name="top"/> groups by cost over the range (no bucket), or, when
    /// <paramref name="top"/> is 0, a page of usage rows grouped by <paramref name="groupBy"/> and
    /// bucketed by <paramref name="bucket"/> (null: none), ordered by (bucket, group), starting after
    /// <paramref name="after"/>: at most <paramref name="limit"/> rows and about
    /// <see cref="MaxPageBytes"/>, with a next cursor when more follow.
    /// </summary>
    public async Task<UsageReply> UsageAsync(
        AnalyticsRange range, GroupBy groupBy, string? bucket, int top, int limit, UsageCursor? after, CancellationToken cancellationToken)
    {
        var page = new UsagePage(top > 0 ? top : limit, top > 0);
        if (top > 0 || bucket is null)
        {
            await ReadUsageAsync(range, groupBy, bucket, top, after, page, cancellationToken);
        }
        else
        {
            await ReadBucketWindowsAsync(range, groupBy, bucket, after, page, cancellationToken);
        }

        var reply = new UsageReply { Rows = { page.Rows } };
        if (page.More)
        {
            var last = page.Rows[^1];
            reply.NextCursor = new UsageCursor(last.Bucket?.ToDateTimeOffset(), last.HasGroup ? last.Group : null,
                UsageCursor.ShapeOf(groupBy.Name, bucket, range.Team)).Encode();
        }

        return reply;
    }

    /// <summary>
    /// Bucketed pages read the range in windows of whole buckets from the cursor on, so a page costs
    /// what it returns, not the whole range (a 30-day user × hour answer is 721,000 rows). The first
    /// window is one bucket; each next one is sized from the rows per bucket seen so far (at least
    /// double), so a dense grouping needs two or three queries and a sparse one a handful.
    /// </summary>
    private async Task ReadBucketWindowsAsync(
        AnalyticsRange range, GroupBy groupBy, string bucket, UsageCursor? after, UsagePage page, CancellationToken cancellationToken)
    {
        var unit = bucket == "hour" ? TimeSpan.TicksPerHour : TimeSpan.TicksPerDay;
        var from = after?.Bucket is { } b && b > range.From ? b : range.From;
        var first = Floor(from, unit);
        var windowStart = first;
        long width = 1;
        while (true)
        {
            var windowEnd = windowStart.AddTicks(width * unit);
            var window = range with { From = windowStart > range.From ? windowStart : range.From, To = windowEnd < range.To ? windowEnd : range.To };
            await ReadUsageAsync(window, groupBy, bucket, 0, after, page, cancellationToken);
            if (page.Done || windowEnd >= range.To)
            {
                return;
            }

            var buckets = (windowEnd - first).Ticks / unit;
            var perBucket = (double)page.Rows.Count / buckets;
            var needed = perBucket > 0 ? (long)Math.Ceiling((page.Limit + 1 - page.Rows.Count) / perBucket * 1.1) : 0;
            width = Math.Max(width * 2, needed);
            windowStart = windowEnd;
        }
    }

    /// <summary>Adds the usage rows of <paramref name="range"/> after <paramref name="after"/> to <paramref name="page"/>.</summary>
    private async Task ReadUsageAsync(
        AnalyticsRange range, GroupBy groupBy, string? bucket, int top, UsageCursor? after, UsagePage page, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await WithoutJitAsync(connection, cancellationToken);
        await using var command = new NpgsqlCommand(null, connection, transaction);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("dimension", NpgsqlDbType.Text) { Value = groupBy.RollupDimension });
        if (groupBy.MetadataKey is { } key)
        {
            p.Add(new NpgsqlParameter("metadata_key", NpgsqlDbType.Text) { Value = key });
        }

        var teamFilter = TeamFilter(range, p);
        // Owned dimensions sit under each row's team (the gateway's view sums them), crossed ones under
        // '' (every team) and, per hour only, under each team (UsageTotals).
        var owned = UsageTotals.OwnedDimensions.Contains(groupBy.RollupDimension);
        var scope = owned && range.Team is null ? "" : " AND team = @scope";
        var parts = new List<string>();
        foreach (var (grain, from, to, when) in Segments(range, bucket != "hour" && (owned || range.Team is null), teamFilter, p))
        {
            // Rows: the ledger's at the edges; beside the totals, those still queued for them (UsageRollup).
            parts.Add($"""
                SELECT {groupBy.Expression} AS grp, {Bucket(bucket, "started_at")} AS bucket, {RowSums}
                FROM accounting.{(grain is null ? "ledger" : UsageTotals.PendingTable)} WHERE started_at >= {from} AND started_at < {to}{teamFilter}{when}
                """);
            if (grain is null)
            {
                continue;
            }

            var totals = $"FROM accounting.usage_totals WHERE grain = '{grain}'{scope} AND bucket_start >= {from} AND bucket_start < {to}{when}";
            parts.Add($"SELECT {groupBy.TotalsExpression}, {Bucket(bucket, "bucket_start")}, {TotalSums} {totals} AND dimension = @dimension");
            if (groupBy.MetadataKey is not null)
            {
                // Calls without the key are the null group: everything minus the calls with it.
                parts.Add($"SELECT NULL, {Bucket(bucket, "bucket_start")}, {TotalSums} {totals} AND dimension = '{UsageTotals.Route}'");
                parts.Add($"SELECT NULL, {Bucket(bucket, "bucket_start")}, {NegatedTotalSums} {totals} AND dimension = @dimension");
            }
        }

        // One row more than still fits tells whether another page follows. Groups compare bytewise
        // ("C"), whatever collation their source column has, so the order and the keyset agree.
        var take = (page.Limit - page.Rows.Count + 1).ToString(CultureInfo.InvariantCulture);
        var order = top > 0 ? "sum(cost_usd) DESC, grp COLLATE \"C\" NULLS FIRST" : "bucket NULLS FIRST, grp COLLATE \"C\" NULLS FIRST";
        command.CommandText = $"""
            SELECT grp, bucket, sum(requests)::bigint, sum(errors)::bigint, sum(prompt_tokens)::bigint,
                sum(completion_tokens)::bigint, sum(cached_tokens)::bigint, sum(cost_usd), sum(cache_savings_usd)
            FROM ({string.Join("\nUNION ALL\n", parts)}) AS t (grp, bucket, requests, errors, prompt_tokens,
                completion_tokens, cached_tokens, cost_usd, cache_savings_usd)
            {Keyset(after, p)}
            GROUP BY grp, bucket
            HAVING sum(requests) > 0
            ORDER BY {order}
            LIMIT {take}
            """;

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

            if (!page.TryAdd(row))
            {
                return;
            }
        }
    }

    /// <summary>The rows after the cursor in (bucket, group) order, both nulls first: a WHERE before the grouping.</summary>
    private static string Keyset(UsageCursor? after, NpgsqlParameterCollection parameters)
    {
        if (after is not { } cursor)
        {
            return "";
        }

        string groupAfter;
        if (cursor.Group is { } group)
        {
            parameters.Add(new NpgsqlParameter("after_group", NpgsqlDbType.Text) { Value = group });
            groupAfter = "grp COLLATE \"C\" > @after_group COLLATE \"C\"";
        }
        else
        {
            groupAfter = "grp IS NOT NULL";
        }

        if (cursor.Bucket is not { } bucket)
        {
            return "WHERE " + groupAfter;
        }

        parameters.Add(new NpgsqlParameter("after_bucket", NpgsqlDbType.TimestampTz) { Value = bucket });
        return $"WHERE (bucket > @after_bucket OR (bucket = @after_bucket AND {groupAfter}))";
    }

    /// <summary>
    /// Latency and TTFT percentiles per group, from the daily and hourly route histograms (and the edge rows bucketed
    /// the same way): within <see cref="LatencyHistogram.RelativeError"/> of the exact nearest-rank value.
    /// </summary>
    public async Task<LatencyReply> LatencyAsync(AnalyticsRange range, GroupBy groupBy, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await WithoutJitAsync(connection, cancellationToken);
        await using var command = new NpgsqlCommand(null, connection, transaction);
        var p = command.Parameters;
        var teamFilter = TeamFilter(range, p);
        var parts = new List<string>();
        // Daily route histograms exist for every team together (UsageTotals), not per team.
        foreach (var (grain, from, to, when) in Segments(range, days: range.Team is null, teamFilter, p))
        {
            // Rows: the ledger's at the edges; beside the totals, those still queued for them (UsageRollup).
            parts.Add($"""
                SELECT {groupBy.Expression}, accounting.histogram_of(array_agg(accounting.latency_bucket(latency_ms))),
                    accounting.histogram_of(array_agg(accounting.latency_bucket(ttft_ms)) FILTER (WHERE ttft_ms IS NOT NULL))
                FROM accounting.{(grain is null ? "ledger" : UsageTotals.PendingTable)} WHERE started_at >= {from} AND started_at < {to}{teamFilter}{when} GROUP BY 1
                """);
            if (grain is not null)
            {
                parts.Add($"""
                    SELECT {groupBy.TotalsExpression}, latency_hist, ttft_hist FROM accounting.usage_totals
                    WHERE dimension = '{UsageTotals.Route}' AND grain = '{grain}' AND team = @scope AND bucket_start >= {from} AND bucket_start < {to}{when}
                    """);
            }
        }

        // Slicing gives 1-based arrays; the first bucket's number travels beside them.
        command.CommandText = $"""
            SELECT grp, array_lower(latency, 1), latency[array_lower(latency, 1):], array_lower(ttft, 1), ttft[array_lower(ttft, 1):]
            FROM (
                SELECT grp, accounting.histogram_sum(latency) AS latency, accounting.histogram_sum(ttft) AS ttft
                FROM ({string.Join("\nUNION ALL\n", parts)}) AS t (grp, latency, ttft)
                GROUP BY grp) AS h
            WHERE latency IS NOT NULL
            ORDER BY grp
            """;

        var reply = new LatencyReply();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var latencyFrom = reader.GetInt32(1);
            var latency = reader.GetFieldValue<long?[]>(2);
            var requests = LatencyHistogram.Count(latency);
            var row = new LatencyRow
            {
                Group = reader.GetString(0),
                Requests = requests,
                LatencyP50Ms = LatencyHistogram.Percentile(latencyFrom, latency, requests, 0.5),
                LatencyP95Ms = LatencyHistogram.Percentile(latencyFrom, latency, requests, 0.95),
                LatencyP99Ms = LatencyHistogram.Percentile(latencyFrom, latency, requests, 0.99),
            };
            if (!reader.IsDBNull(3))
            {
                var ttftFrom = reader.GetInt32(3);
                var ttft = reader.GetFieldValue<long?[]>(4);
                row.Streamed = LatencyHistogram.Count(ttft);
                row.TtftP50Ms = LatencyHistogram.Percentile(ttftFrom, ttft, row.Streamed, 0.5);
                row.TtftP95Ms = LatencyHistogram.Percentile(ttftFrom, ttft, row.Streamed, 0.95);
                row.TtftP99Ms = LatencyHistogram.Percentile(ttftFrom, ttft, row.Streamed, 0.99);
            }

            reply.Rows.Add(row);
        }

        return reply;
    }

    /// <summary>
    /// A read transaction without JIT compilation: the planner's cost for a usage or latency statement
    /// (~60 partitions, and an edge's row branch that the totals usually rule out at run time) passes
    /// <c>jit_above_cost</c>, and compiling took 300–550 ms of a query that runs in 15–45 ms
    /// (EXPLAIN ANALYZE on the benchmark's ledger, docs/perf/ledger.md).
    /// </summary>
    private static async Task<NpgsqlTransaction> WithoutJitAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var settings = new NpgsqlCommand("SET LOCAL jit = off", connection, transaction);
        await settings.ExecuteNonQueryAsync(cancellationToken);
        return transaction;
    }

    /// <summary>
    /// Splits [from, to) into what the totals cover — whole days (when <paramref name="days"/>), whole
    /// hours around them — and the partial hours at the edges (grain null: read from the rows). Each
    /// piece's bounds are added to <paramref name="parameters"/>; the names come back for the SQL,
    /// with a condition (<c>When</c>, "" or <c> AND …</c>) that its WHERE clauses must carry.
    /// </summary>
    /// <remarks>
    /// A partial hour is exactly its whole hour's totals plus its queued rows when no row of the
    /// caller's scope lies in the rest of that hour: always so for a range ending at "now" (a busy
    /// current hour held ~650,000 rows, read one by one in 0.7–3.9 s; docs/perf/ledger.md). So each
    /// edge comes twice, as its rows when an index probe of the rest of its hour finds one, else as
    /// the hour: an uncorrelated EXISTS runs once per statement, and PostgreSQL skips the branch its
    /// result rules out. Probe and read share the statement's snapshot, so a row written meanwhile
    /// cannot fall between them.
    /// </remarks>
    private static List<(string? Grain, string From, string To, string When)> Segments(
        AnalyticsRange range, bool days, string teamFilter, NpgsqlParameterCollection parameters)
    {
        var pieces = new List<(string?, DateTimeOffset, DateTimeOffset)>();
        var hourFrom = Ceiling(range.From, TimeSpan.TicksPerHour);
        var hourTo = Floor(range.To, TimeSpan.TicksPerHour);
        if (hourFrom > hourTo)
        {
            pieces.Add((null, range.From, range.To));
        }
        else
        {
            var dayFrom = Ceiling(range.From, TimeSpan.TicksPerDay);
            var dayTo = Floor(range.To, TimeSpan.TicksPerDay);
            pieces.Add((null, range.From, hourFrom));
            if (days && dayFrom < dayTo)
            {
                pieces.Add(("hour", hourFrom, dayFrom));
                pieces.Add(("day", dayFrom, dayTo));
                pieces.Add(("hour", dayTo, hourTo));
            }
            else
            {
                pieces.Add(("hour", hourFrom, hourTo));
            }

            pieces.Add((null, hourTo, range.To));
        }

        parameters.Add(new NpgsqlParameter("scope", NpgsqlDbType.Text) { Value = range.Team ?? UsageTotals.EveryTeam });
        var segments = new List<(string?, string, string, string)>();
        var named = 0;
        foreach (var (grain, from, to) in pieces.Where(piece => piece.Item2 < piece.Item3))
        {
            if (grain is not null)
            {
                var (start, end) = Bounds(from, to);
                segments.Add((grain, start, end, ""));
                continue;
            }

            // A partial hour [from, to) inside [hour, hour + 1 h): the rest of the hour is [hour, from) and [to, hour + 1 h).
            var hour = Floor(from, TimeSpan.TicksPerHour);
            var rows = Bounds(from, to);
            var whole = Bounds(hour, hour.AddHours(1));
            // One probe per side: a single range each, so each is one index descent (an OR of ranges could bitmap-scan them whole).
            var rest = new List<string>();
            if (hour < from)
            {
                rest.Add($"EXISTS (SELECT FROM accounting.ledger WHERE started_at >= {whole.From} AND started_at < {rows.From}{teamFilter})");
            }

            if (to < hour.AddHours(1))
            {
                rest.Add($"EXISTS (SELECT FROM accounting.ledger WHERE started_at >= {rows.To} AND started_at < {whole.To}{teamFilter})");
            }

            var restHasRows = $"({string.Join(" OR ", rest)})";
            segments.Add((null, rows.From, rows.To, $" AND {restHasRows}"));
            segments.Add(("hour", whole.From, whole.To, $" AND NOT {restHasRows}"));
        }

        return segments;

        // Adds the parameters for [from, to) and returns their names.
        (string From, string To) Bounds(DateTimeOffset from, DateTimeOffset to)
        {
            var name = $"s{named++.ToString(CultureInfo.InvariantCulture)}";
            parameters.Add(new NpgsqlParameter(name + "_from", NpgsqlDbType.TimestampTz) { Value = from });
            parameters.Add(new NpgsqlParameter(name + "_to", NpgsqlDbType.TimestampTz) { Value = to });
            return ($"@{name}_from", $"@{name}_to");
        }
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

    private static DateTimeOffset Floor(DateTimeOffset t, long unit) => new(t.UtcTicks - t.UtcTicks % unit, TimeSpan.Zero);

    private static DateTimeOffset Ceiling(DateTimeOffset t, long unit)
    {
        var floor = Floor(t, unit);
        return floor == t ? floor : floor.AddTicks(unit);
    }
}
