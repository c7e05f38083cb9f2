using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Analytics;
using Gateway.Aspire.Router.Errors;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// Usage analytics under <c>/admin/v1</c>, answered by accounting's Analytics service. Every call needs
/// the admin key (checked by policy); a team admin sees only their team. Times are UTC, ranges
/// [from, to), money in USD. The contract is in docs/ARCHITECTURE.md (Ledger).
/// </summary>
public static class AnalyticsApi
{
    private static readonly string[] s_usageDimensions = ["model", "target", "provider", "user", "team", "virtual_account"];
    private static readonly string[] s_buckets = ["hour", "day"];
    private static readonly string[] s_spenders = ["user", "team", "virtual_account"];
    private static readonly string[] s_latencyDimensions = ["model", "target", "provider"];

    // Accounting's bound on a usage page (AnalyticsService.MaxUsageRows).
    private const int MaxUsageRows = 10_000;

    /// <summary>Maps the analytics endpoints.</summary>
    public static IEndpointRouteBuilder MapAnalyticsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/usage", UsageAsync);
        app.MapGet("/admin/v1/usage/errors", ErrorsAsync);
        app.MapGet("/admin/v1/usage/top-spenders", TopSpendersAsync);
        app.MapGet("/admin/v1/usage/cost-trend", CostTrendAsync);
        app.MapGet("/admin/v1/usage/cache-savings", CacheSavingsAsync);
        app.MapGet("/admin/v1/usage/latency", LatencyAsync);
        app.MapGet("/admin/v1/requests", RequestsAsync);
        return app;
    }

    /// <summary><c>GET /admin/v1/usage?group_by=&amp;from=&amp;to=&amp;bucket=&amp;limit=&amp;cursor=</c>: requests, tokens and cost per group (and bucket), paged.</summary>
    internal static Task<IResult> UsageAsync(HttpContext context, Tokens.TokensClient tokens, Accounting.Grpc.Analytics.AnalyticsClient analytics, TimeProvider time) =>
        UsageQueryAsync(context, tokens, analytics, time, ["group_by", "from", "to", "bucket", "team", "limit", "cursor"],
            p => Paged(p, new UsageQuery { GroupBy = GroupBy(p), Bucket = p.Choice("bucket", s_buckets) }),
            (w, row) =>
            {
                WriteGroupAndBucket(w, row);
                w.WriteNumber("requests", row.Requests);
                w.WriteNumber("prompt_tokens", row.PromptTokens);
                w.WriteNumber("completion_tokens", row.CompletionTokens);
                w.WriteNumber("cached_tokens", row.CachedTokens);
                w.WriteNumber("cost_usd", Money(row.CostUsd));
            });

    /// <summary><c>GET /admin/v1/usage/errors</c>: calls answered with a status ≥ 400 and their share, per group (and bucket).</summary>
    internal static Task<IResult> ErrorsAsync(HttpContext context, Tokens.TokensClient tokens, Accounting.Grpc.Analytics.AnalyticsClient analytics, TimeProvider time) =>
        UsageQueryAsync(context, tokens, analytics, time, ["group_by", "from", "to", "bucket", "team", "limit", "cursor"],
            p => Paged(p, new UsageQuery { GroupBy = GroupBy(p), Bucket = p.Choice("bucket", s_buckets) }),
            (w, row) =>
            {
                WriteGroupAndBucket(w, row);
                w.WriteNumber("requests", row.Requests);
                w.WriteNumber("errors", row.Errors);
                w.WriteNumber("error_rate", row.Requests == 0 ? 0 : Math.Round((double)row.Errors / row.Requests, 6));
            });

    /// <summary><c>GET /admin/v1/usage/top-spenders?by=user|team|virtual_account&amp;limit=10</c>: the highest cost first.</summary>
    internal static Task<IResult> TopSpendersAsync(HttpContext context, Tokens.TokensClient tokens, Accounting.Grpc.Analytics.AnalyticsClient analytics, TimeProvider time) =>
        UsageQueryAsync(context, tokens, analytics, time, ["by", "limit", "from", "to", "team"],
            p => new UsageQuery { GroupBy = p.Choice("by", s_spenders, "user"), Top = p.Integer("limit", 1, 1000, 10) },
            (w, row) =>
            {
                WriteGroup(w, row);
                w.WriteNumber("requests", row.Requests);
                w.WriteNumber("prompt_tokens", row.PromptTokens);
                w.WriteNumber("completion_tokens", row.CompletionTokens);
                w.WriteNumber("cost_usd", Money(row.CostUsd));
            });

    /// <summary><c>GET /admin/v1/usage/cost-trend[?group_by=]</c>: cost per UTC day.</summary>
    internal static Task<IResult> CostTrendAsync(HttpContext context, Tokens.TokensClient tokens, Accounting.Grpc.Analytics.AnalyticsClient analytics, TimeProvider time) =>
        UsageQueryAsync(context, tokens, analytics, time, ["group_by", "from", "to", "team", "limit", "cursor"],
            p => Paged(p, new UsageQuery { GroupBy = GroupBy(p), Bucket = "day" }),
            (w, row) =>
            {
                WriteGroupAndBucket(w, row);
                w.WriteNumber("requests", row.Requests);
                w.WriteNumber("cost_usd", Money(row.CostUsd));
            });

    /// <summary><c>GET /admin/v1/usage/cache-savings[?group_by=]</c>: what provider prompt caches saved against the input price.</summary>
    internal static Task<IResult> CacheSavingsAsync(HttpContext context, Tokens.TokensClient tokens, Accounting.Grpc.Analytics.AnalyticsClient analytics, TimeProvider time) =>
        UsageQueryAsync(context, tokens, analytics, time, ["group_by", "from", "to", "bucket", "team", "limit", "cursor"],
            p => Paged(p, new UsageQuery { GroupBy = GroupBy(p), Bucket = p.Choice("bucket", s_buckets) }),
            (w, row) =>
            {
                WriteGroupAndBucket(w, row);
                w.WriteNumber("requests", row.Requests);
                w.WriteNumber("prompt_tokens", row.PromptTokens);
                w.WriteNumber("cached_tokens", row.CachedTokens);
                w.WriteNumber("cost_usd", Money(row.CostUsd));
                w.WriteNumber("cache_savings_usd", Money(row.CacheSavingsUsd));
            });

    /// <summary><c>GET /admin/v1/usage/latency?group_by=model|target|provider</c>: latency and TTFT percentiles.</summary>
    internal static async Task<IResult> LatencyAsync(HttpContext context, Tokens.TokensClient tokens, Accounting.Grpc.Analytics.AnalyticsClient analytics, TimeProvider time)
    {
        var p = AnalyticsParameters.Read(context.Request.Query, "group_by", "from", "to", "team");
        var (error, team) = await AdminCaller.AuthorizeAsync(context, tokens, p.Text("team"));
        if (error is not null)
        {
            return error;
        }

        var (from, to) = p.Range(time.GetUtcNow());
        var query = new LatencyQuery { From = from, To = to, Team = team, GroupBy = p.Choice("group_by", s_latencyDimensions, "model") };
        if (p.Error is not null)
        {
            return p.Error;
        }

        return await CallAsync(context, async () =>
        {
            var reply = await analytics.LatencyAsync(query, deadline: Deadline, cancellationToken: context.RequestAborted);
            return Json(w =>
            {
                foreach (var row in reply.Rows)
                {
                    w.WriteStartObject();
                    w.WriteString("group", row.Group);
                    w.WriteNumber("requests", row.Requests);
                    w.WriteNumber("latency_p50_ms", row.LatencyP50Ms);
                    w.WriteNumber("latency_p95_ms", row.LatencyP95Ms);
                    w.WriteNumber("latency_p99_ms", row.LatencyP99Ms);
                    w.WriteNumber("streamed", row.Streamed);
                    WriteOptional(w, "ttft_p50_ms", row.HasTtftP50Ms, row.TtftP50Ms);
                    WriteOptional(w, "ttft_p95_ms", row.HasTtftP95Ms, row.TtftP95Ms);
                    WriteOptional(w, "ttft_p99_ms", row.HasTtftP99Ms, row.TtftP99Ms);
                    w.WriteEndObject();
                }
            });
        });
    }

    /// <summary>
    /// <c>GET /admin/v1/requests?request_id=&amp;user=&amp;model=&amp;status=&amp;from=&amp;to=&amp;limit=&amp;cursor=</c>:
    /// the request log, newest first; <c>next_cursor</c> fetches the next page. No prompt or completion text is stored.
    /// </summary>
    internal static async Task<IResult> RequestsAsync(HttpContext context, Tokens.TokensClient tokens, Accounting.Grpc.Analytics.AnalyticsClient analytics, TimeProvider time)
    {
        var p = AnalyticsParameters.Read(context.Request.Query, "request_id", "user", "model", "status", "from", "to", "limit", "cursor", "team");
        var (error, team) = await AdminCaller.AuthorizeAsync(context, tokens, p.Text("team"));
        if (error is not null)
        {
            return error;
        }

        var (from, to) = p.Range(time.GetUtcNow());
        var search = new RequestSearch
        {
            From = from,
            To = to,
            Team = team,
            RequestId = p.Text("request_id"),
            User = p.Text("user"),
            Model = p.Text("model"),
            StatusCode = p.Integer("status", 100, 599, 0),
            Limit = p.Integer("limit", 1, 1000, 50),
            Cursor = p.Text("cursor"),
        };
        if (p.Error is not null)
        {
            return p.Error;
        }

        return await CallAsync(context, async () =>
        {
            var page = await analytics.SearchRequestsAsync(search, deadline: Deadline, cancellationToken: context.RequestAborted);
            return Json(w =>
            {
                foreach (var row in page.Rows)
                {
                    WriteLogRow(w, row);
                }
            }, page.NextCursor);
        });
    }

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(30);

    /// <summary>Adds the paging parameters: <c>limit</c> (1-10,000; accounting's default 5,000) and <c>cursor</c>.</summary>
    private static UsageQuery Paged(AnalyticsParameters p, UsageQuery query)
    {
        query.Limit = p.Integer("limit", 1, MaxUsageRows, 0);
        query.Cursor = p.Text("cursor");
        return query;
    }

    private static string GroupBy(AnalyticsParameters p)
    {
        var groupBy = p.Text("group_by");
        if (groupBy.Length > 0 && !s_usageDimensions.Contains(groupBy, StringComparer.Ordinal)
            && !(groupBy.StartsWith("metadata.", StringComparison.Ordinal) && groupBy.Length > "metadata.".Length))
        {
            p.Fail("group_by", $"'group_by' must be one of {string.Join(", ", s_usageDimensions)} or metadata.<key>.");
        }

        return groupBy;
    }

    private static async Task<IResult> UsageQueryAsync(
        HttpContext context, Tokens.TokensClient tokens, Accounting.Grpc.Analytics.AnalyticsClient analytics, TimeProvider time,
        string[] allowed, Func<AnalyticsParameters, UsageQuery> build, Action<Utf8JsonWriter, UsageRow> writeRow)
    {
        var p = AnalyticsParameters.Read(context.Request.Query, allowed);
        var (error, team) = await AdminCaller.AuthorizeAsync(context, tokens, p.Text("team"));
        if (error is not null)
        {
            return error;
        }

        var query = build(p);
        (query.From, query.To) = p.Range(time.GetUtcNow());
        query.Team = team;
        if (p.Error is not null)
        {
            return p.Error;
        }

        return await CallAsync(context, async () =>
        {
            var reply = await analytics.UsageAsync(query, deadline: Deadline, cancellationToken: context.RequestAborted);
            return Json(w =>
            {
                foreach (var row in reply.Rows)
                {
                    w.WriteStartObject();
                    writeRow(w, row);
                    w.WriteEndObject();
                }
            }, query.Top > 0 ? null : reply.NextCursor);
        });
    }

    /// <summary>Runs an Analytics call, mapping its failures: INVALID_ARGUMENT "field: message" → 400 naming the field.</summary>
    private static async Task<IResult> CallAsync(HttpContext context, Func<Task<IResult>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            var colon = e.Status.Detail.IndexOf(": ", StringComparison.Ordinal);
            return colon > 0
                ? OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_parameter", e.Status.Detail[(colon + 2)..], e.Status.Detail[..colon])
                : OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_parameter", e.Status.Detail);
        }
        catch (RpcException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return OpenAiError.Result(503, OpenAiError.ServiceUnavailable, "accounting_unavailable", "Usage analytics are unavailable right now; retry shortly.");
        }
    }

    /// <summary><c>{"data": [...]}</c> (and <c>has_more</c>, <c>next_cursor</c> for paged lists), written without reflection.</summary>
    private static IResult Json(Action<Utf8JsonWriter> writeRows, string? nextCursor = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("data");
            writeRows(writer);
            writer.WriteEndArray();
            if (nextCursor is not null)
            {
                writer.WriteBoolean("has_more", nextCursor.Length > 0);
                if (nextCursor.Length == 0)
                {
                    writer.WriteNull("next_cursor");
                }
                else
                {
                    writer.WriteString("next_cursor", nextCursor);
                }
            }

            writer.WriteEndObject();
        }

        return TypedResults.Bytes(buffer.WrittenMemory.ToArray(), "application/json");
    }

    private static void WriteGroup(Utf8JsonWriter w, UsageRow row)
    {
        if (row.HasGroup)
        {
            w.WriteString("group", row.Group);
        }
        else
        {
            w.WriteNull("group");
        }
    }

    private static void WriteGroupAndBucket(Utf8JsonWriter w, UsageRow row)
    {
        WriteGroup(w, row);
        if (row.Bucket is { } bucket)
        {
            w.WriteString("bucket", bucket.ToDateTime());
        }
        else
        {
            w.WriteNull("bucket");
        }
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, bool has, double value)
    {
        if (has)
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteLogRow(Utf8JsonWriter w, RequestLogRow row)
    {
        w.WriteStartObject();
        w.WriteString("request_id", row.RequestId);
        w.WriteString("started_at", row.StartedAt.ToDateTime());
        WriteText(w, "user", row.User);
        WriteText(w, "team", row.Team);
        WriteText(w, "virtual_account", row.VirtualAccount);
        WriteText(w, "token_name", row.TokenName);
        w.WriteString("requested_model", row.RequestedModel);
        w.WriteString("served_model", row.ServedModel);
        w.WriteString("provider", row.Provider);
        w.WriteNumber("status", row.StatusCode);
        WriteText(w, "error_type", row.ErrorType);
        w.WriteNumber("prompt_tokens", row.PromptTokens);
        w.WriteNumber("completion_tokens", row.CompletionTokens);
        w.WriteNumber("cached_tokens", row.CachedTokens);
        w.WriteNumber("cost_usd", Money(row.CostUsd));
        w.WriteNumber("latency_ms", row.LatencyMs);
        WriteOptional(w, "ttft_ms", row.HasTtftMs, row.TtftMs);
        w.WriteBoolean("streamed", row.Streamed);
        w.WriteStartObject("metadata");
        foreach (var (key, value) in row.Metadata.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            w.WriteString(key, value);
        }

        w.WriteEndObject();
        w.WriteStartArray("guardrails");
        foreach (var finding in row.Guardrails)
        {
            w.WriteStartObject();
            w.WriteString("rule", finding.Rule);
            WriteText(w, "check", finding.Check);
            w.WriteString("category", finding.Category);
            w.WriteString("action", finding.Action);
            w.WriteNumber("count", finding.Count);
            w.WriteString("stage", finding.Stage);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteText(Utf8JsonWriter w, string name, string value)
    {
        if (value.Length == 0)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static decimal Money(string value) => decimal.Parse(value, NumberStyles.Number, CultureInfo.InvariantCulture);
}
