using Gateway.Aspire.Accounting.Grpc;
using Grpc.Core;
using Npgsql;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>
/// Analytics over the ledger for the router's admin API. Arguments are checked here (INVALID_ARGUMENT
/// whose message starts with the field's name); PostgreSQL being away is UNAVAILABLE.
/// </summary>
public sealed class AnalyticsService(NpgsqlDataSource dataSource, ILogger<AnalyticsService> logger) : Grpc.Analytics.AnalyticsBase
{
    /// <summary>Longest range answered with hourly buckets (a row per hour and group).</summary>
    public static readonly TimeSpan MaxHourlyRange = TimeSpan.FromDays(31);

    /// <summary>Most rows a top-N query or a log page returns.</summary>
    public const int MaxRows = 1000;

    /// <summary>Usage rows per page when the query does not say.</summary>
    public const int DefaultUsageRows = 5000;

    /// <summary>Most usage rows per page (a page also ends near <see cref="UsageQueries.MaxPageBytes"/>).</summary>
    public const int MaxUsageRows = 10_000;

    private readonly UsageQueries _queries = new(dataSource);
    private readonly SpendQueries _spend = new(dataSource);

    /// <inheritdoc />
    public override Task<UsageReply> Usage(UsageQuery request, ServerCallContext context)
    {
        var range = AnalyticsRange.Read(request.From, request.To, request.Team);
        if (!AnalyticsDimensions.TryResolve(request.GroupBy, out var groupBy))
        {
            throw AnalyticsRange.Invalid("group_by", $"'{Shorten(request.GroupBy)}' is not a dimension: use {AnalyticsDimensions.UsageNames}.");
        }

        string? bucket = request.Bucket switch
        {
            "" => null,
            "hour" or "day" => request.Bucket,
            _ => throw AnalyticsRange.Invalid("bucket", $"'{Shorten(request.Bucket)}' is not a bucket: use hour or day."),
        };
        if (bucket == "hour" && range.To - range.From > MaxHourlyRange)
        {
            throw AnalyticsRange.Invalid("bucket", $"bucket=hour covers at most {MaxHourlyRange.TotalDays} days; use bucket=day.");
        }

        if (request.Top is < 0 or > MaxRows)
        {
            throw AnalyticsRange.Invalid("top", $"'top' must be 0-{MaxRows}.");
        }

        var limit = request.Limit == 0 ? DefaultUsageRows : request.Limit;
        if (limit is < 1 or > MaxUsageRows)
        {
            throw AnalyticsRange.Invalid("limit", $"'limit' must be 1-{MaxUsageRows}.");
        }

        UsageCursor? after = null;
        if (request.Cursor.Length > 0)
        {
            if (request.Top > 0)
            {
                throw AnalyticsRange.Invalid("cursor", "a top-spenders answer is one page; 'cursor' does not apply.");
            }

            if (!UsageCursor.TryDecode(request.Cursor, out var cursor))
            {
                throw AnalyticsRange.Invalid("cursor", "'cursor' is not one this API returned.");
            }

            if (cursor.Shape != UsageCursor.ShapeOf(groupBy.Name, bucket, range.Team) || (cursor.Bucket is null) != (bucket is null))
            {
                throw AnalyticsRange.Invalid("cursor", "'cursor' belongs to a query with another group_by, bucket or team.");
            }

            after = cursor;
        }

        return RunAsync(() => _queries.UsageAsync(range, groupBy, bucket, request.Top, limit, after, context.CancellationToken));
    }

    /// <inheritdoc />
    public override Task<LatencyReply> Latency(LatencyQuery request, ServerCallContext context)
    {
        var range = AnalyticsRange.Read(request.From, request.To, request.Team);
        if (!AnalyticsDimensions.LatencyNames.Contains(request.GroupBy) || !AnalyticsDimensions.TryResolve(request.GroupBy, out var groupBy))
        {
            throw AnalyticsRange.Invalid("group_by", $"'{Shorten(request.GroupBy)}' is not a latency dimension: use model, target or provider.");
        }

        return RunAsync(() => _queries.LatencyAsync(range, groupBy, context.CancellationToken));
    }

    /// <inheritdoc />
    public override Task<RequestPage> SearchRequests(RequestSearch request, ServerCallContext context)
    {
        var range = AnalyticsRange.Read(request.From, request.To, request.Team);
        var limit = request.Limit == 0 ? 50 : request.Limit;
        if (limit is < 1 or > MaxRows)
        {
            throw AnalyticsRange.Invalid("limit", $"'limit' must be 1-{MaxRows}.");
        }

        RequestCursor? after = null;
        if (request.Cursor.Length > 0)
        {
            after = RequestCursor.TryDecode(request.Cursor, out var cursor)
                ? cursor
                : throw AnalyticsRange.Invalid("cursor", "'cursor' is not one this API returned.");
        }

        if (request.StatusCode is < 0 or > 599)
        {
            throw AnalyticsRange.Invalid("status", "'status' must be an HTTP status (100-599).");
        }

        return RunAsync(() => _queries.SearchAsync(range, request, limit, after, context.CancellationToken));
    }

    /// <inheritdoc />
    public override Task<SpendReply> SpendTotals(SpendQuery request, ServerCallContext context)
    {
        var range = AnalyticsRange.Read(request.From, request.To, "");
        if (request.MetadataKeys.Count > SpendQueries.MaxMetadataKeys || request.MetadataKeys.Any(k => k.Length is 0 or > 1024))
        {
            throw AnalyticsRange.Invalid("metadata_keys", $"at most {SpendQueries.MaxMetadataKeys} keys of 1-1024 characters.");
        }

        return RunAsync(() => _spend.TotalsAsync(range, request.MetadataKeys, context.CancellationToken));
    }

    private async Task<T> RunAsync<T>(Func<Task<T>> query)
    {
        try
        {
            return await query();
        }
        catch (NpgsqlException e) when (e is not PostgresException || e.IsTransient)
        {
            AccountingLog.AnalyticsUnavailable(logger, e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The ledger database is unavailable; retry later."));
        }
    }

    private static string Shorten(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
