using System.Globalization;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Ledger;
using Gateway.Aspire.Accounting.Tests.Ledger;
using Gateway.Aspire.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Accounting.Tests.Analytics;

/// <summary>
/// Analytics answers equal sums computed here from the records the test sent (delivered with
/// duplicates), for every grouping, bucket and range shape, over real gRPC and PostgreSQL.
/// </summary>
public sealed class AnalyticsServiceTests(PostgresServerFixture postgres) : IAsyncLifetime
{
    private static readonly DateTimeOffset s_day = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] s_groupings = ["", "model", "target", "provider", "user", "team", "virtual_account", "metadata.project"];
    private static readonly string[] s_buckets = ["", "hour", "day"];

    // Whole days; a whole day between partial hours and days; edges inside hours; inside one hour; nothing.
    // A partial hour with no row in the rest of its hour is answered from the hour's totals, else from
    // its rows (UsageQueries.Segments): the edges below cover both, with calls just before `from` or
    // just after `to` in the same hour (records at 20:21, 20:58, 48:06, 48:43; 6:10, 6:47), which must
    // not be counted, and the team-scoped probe (20:21 and 48:43 are team-1's, 20:58 team-0's).
    private static readonly (DateTimeOffset From, DateTimeOffset To)[] s_ranges =
    [
        (s_day, s_day.AddDays(2)),
        (s_day.AddHours(5).AddMinutes(17), s_day.AddDays(2).AddMinutes(50)),
        (s_day.AddHours(5).AddMinutes(17).AddSeconds(30), s_day.AddHours(43).AddMinutes(42).AddSeconds(10)),
        (s_day.AddHours(10).AddMinutes(5), s_day.AddHours(10).AddMinutes(50)),
        (s_day.AddDays(-10), s_day.AddDays(-9)),
        (s_day.AddHours(20).AddMinutes(30), s_day.AddHours(48).AddMinutes(20)),
        (s_day.AddHours(20).AddMinutes(10), s_day.AddHours(20).AddMinutes(40)),
        (s_day.AddHours(20).AddMinutes(15), s_day.AddHours(20).AddMinutes(59)),
        (s_day.AddHours(5).AddMinutes(17), s_day.AddHours(6).AddMinutes(30)),
    ];

    private readonly List<UsageRecord> _records = [.. Enumerable.Range(0, 80).Select(Record)];
    private AccountingTestHost? _host;

    private Grpc.Analytics.AnalyticsClient Analytics => _host!.Analytics;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var database = await postgres.CreateDatabaseAsync("accounting");
        _host = await AccountingTestHost.StartAsync(database, new FakeTimeProvider(s_day.AddDays(3)));

        // At-least-once delivery: two overlapping batches, then everything again.
        await _host.Ledger.RecordAsync(new RecordUsageRequest { Records = { _records.Take(60) } }, cancellationToken: Cancellation);
        await _host.Ledger.RecordAsync(new RecordUsageRequest { Records = { _records.Skip(30) } }, cancellationToken: Cancellation);
        var again = await _host.Ledger.RecordAsync(new RecordUsageRequest { Records = { _records } }, cancellationToken: Cancellation);
        Assert.Equal(0, again.Written);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    /// <summary>~49 hours of calls from 2025-06-01 00:00:13 UTC, varied in every dimension.</summary>
    private static UsageRecord Record(int i)
    {
        var record = LedgerEntryTests.Valid($"req-{i:D3}");
        record.StartedAt = Timestamp.FromDateTimeOffset(s_day.AddMinutes(i * 37).AddSeconds(13));
        record.ServedModel = i % 2 == 0 ? "openai/m1" : "anthropic/m2";
        record.RequestedModel = i % 3 == 0 ? "virtual/any" : record.ServedModel;
        record.Provider = i % 2 == 0 ? "openai" : "anthropic";
        record.User = i % 4 == 3 ? "" : $"user-{i % 3}";
        record.Team = i % 5 == 0 ? "" : $"team-{i % 2}";
        record.VirtualAccount = $"va-{i % 3}";
        if (i % 2 == 0)
        {
            record.Metadata["project"] = $"p{i % 3}";
        }

        record.PromptTokens = 100 + i;
        record.CompletionTokens = 10 + i;
        record.CachedTokens = i % 7;
        record.StatusCode = i % 9 == 0 ? 500 : 200;
        record.ErrorType = i % 9 == 0 ? "api_error" : "";
        record.LatencyMs = 100 + i * 10;
        record.Streamed = i % 2 == 1;
        record.TimeToFirstTokenMs = record.Streamed ? 20 + i : 0;
        if (i % 4 == 0)
        {
            record.Guardrails.Add(new GuardrailFinding { Rule = "safety", Check = "prompt_injection", Category = "jailbreak", Action = "flag", Count = 1, Stage = "input" });
            record.Guardrails.Add(new GuardrailFinding { Rule = "pii", Check = "pii", Category = "email", Action = "mask", Count = 2, Stage = "input" });
        }

        return record;
    }

    [Fact]
    public async Task Usage_EqualsTheSumsOfTheRecords_ForEveryGroupingBucketAndRange_QueuedOrRolledUp()
    {
        // The fake clock holds the service's own rollup back: first everything is still queued.
        var queued = await UsageMismatchesAsync();
        Assert.Equal(_records.Count, await _host!.RollUpAsync(Cancellation));
        Assert.Equal(0, await _host.RollUpAsync(Cancellation));

        Assert.Empty(queued);
        Assert.Empty(await UsageMismatchesAsync());
    }

    private async Task<List<string>> UsageMismatchesAsync()
    {
        var mismatches = new List<string>();
        foreach (var (from, to) in s_ranges)
        {
            foreach (var groupBy in s_groupings)
            {
                foreach (var bucket in s_buckets)
                {
                    foreach (var team in new[] { "", "team-1", "team-0" })
                    {
                        var query = new UsageQuery
                        {
                            From = Timestamp.FromDateTimeOffset(from), To = Timestamp.FromDateTimeOffset(to),
                            GroupBy = groupBy, Bucket = bucket, Team = team,
                        };
                        var actual = Lines(await Analytics.UsageAsync(query, cancellationToken: Cancellation));
                        var expected = Expected(from, to, groupBy, bucket, team);
                        if (!actual.SequenceEqual(expected))
                        {
                            mismatches.Add($"{from:O}..{to:O} group_by={groupBy} bucket={bucket} team={team}:\n  expected {string.Join(" ; ", expected)}\n  actual   {string.Join(" ; ", actual)}");
                        }
                    }
                }
            }
        }

        return mismatches;
    }

    [Fact]
    public async Task Usage_PagedThroughEveryPage_EqualsTheSumsOfTheRecords()
    {
        await _host!.RollUpAsync(Cancellation);
        var mismatches = new List<string>();
        foreach (var (from, to) in s_ranges[1..3])
        {
            foreach (var groupBy in s_groupings)
            {
                foreach (var bucket in s_buckets)
                {
                    foreach (var team in new[] { "", "team-1" })
                    {
                        var query = new UsageQuery
                        {
                            From = Timestamp.FromDateTimeOffset(from), To = Timestamp.FromDateTimeOffset(to),
                            GroupBy = groupBy, Bucket = bucket, Team = team, Limit = 4,
                        };
                        var (actual, pages) = await AllPagesAsync(query);
                        var expected = Expected(from, to, groupBy, bucket, team);
                        if (!actual.SequenceEqual(expected) || pages != Math.Max(1, (expected.Count + 3) / 4))
                        {
                            mismatches.Add($"{from:O}..{to:O} group_by={groupBy} bucket={bucket} team={team}, {pages} pages:\n  expected {string.Join(" ; ", expected)}\n  actual   {string.Join(" ; ", actual)}");
                        }
                    }
                }
            }
        }

        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task Usage_PagesOfOneRow_WalkTheNullGroupsAndBucketEdges()
    {
        // Calls without a user are the null group, first in each bucket: the keyset must step over it.
        var query = new UsageQuery
        {
            From = Timestamp.FromDateTimeOffset(s_day.AddHours(5).AddMinutes(17)), To = Timestamp.FromDateTimeOffset(s_day.AddDays(2).AddMinutes(50)),
            GroupBy = "user", Bucket = "hour", Limit = 1,
        };

        var (actual, pages) = await AllPagesAsync(query);

        var expected = Expected(query.From.ToDateTimeOffset(), query.To.ToDateTimeOffset(), "user", "hour", "");
        Assert.Contains(expected, line => line.StartsWith("(null)|", StringComparison.Ordinal));
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Count, pages);
    }

    [Theory]
    [InlineData("limit", "limit 0 is the default; -1 is not")]
    [InlineData("limit", "limit over the maximum")]
    [InlineData("cursor", "not base64")]
    [InlineData("cursor", "another group_by")]
    [InlineData("cursor", "another team")]
    [InlineData("cursor", "with top")]
    public async Task Usage_BadPaging_IsInvalidArgument_NamingTheField(string field, string what)
    {
        var query = new UsageQuery { From = Timestamp.FromDateTimeOffset(s_day), To = Timestamp.FromDateTimeOffset(s_day.AddDays(2)), GroupBy = "user", Bucket = "hour", Limit = 2 };
        var cursor = (await Analytics.UsageAsync(query, cancellationToken: Cancellation)).NextCursor;
        Assert.NotEmpty(cursor);
        query.Cursor = cursor;
        switch (what)
        {
            case "limit 0 is the default; -1 is not": query.Limit = -1; break;
            case "limit over the maximum": query.Limit = global::Gateway.Aspire.Accounting.Analytics.AnalyticsService.MaxUsageRows + 1; break;
            case "not base64": query.Cursor = "not a cursor!"; break;
            case "another group_by": query.GroupBy = "team"; break;
            case "another team": query.Team = "team-1"; break;
            default: query.Top = 3; query.Bucket = ""; break;
        }

        var e = await Assert.ThrowsAsync<RpcException>(async () => await Analytics.UsageAsync(query, cancellationToken: Cancellation));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith(field + ": ", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Top_OrdersByCost_AndCutsAtTheLimit()
    {
        var query = new UsageQuery { From = Timestamp.FromDateTimeOffset(s_day), To = Timestamp.FromDateTimeOffset(s_day.AddDays(3)), GroupBy = "user", Top = 2 };

        var reply = await Analytics.UsageAsync(query, cancellationToken: Cancellation);

        var expected = Entries().GroupBy(e => e.User).Select(g => (User: g.Key, Cost: g.Sum(e => e.CostUsd)))
            .OrderByDescending(g => g.Cost).Take(2).Select(g => $"{g.User}|{Money(g.Cost)}");
        Assert.Equal(expected, reply.Rows.Select(r => $"{(r.HasGroup ? r.Group : null)}|{r.CostUsd}"));
    }

    [Theory]
    [InlineData("", "target", 0, 4_320, false)]
    [InlineData("", "target", 0, 4_320, true)]
    [InlineData("team-1", "model", 0, 4_320, true)]
    [InlineData("", "provider", 317, 2_950, false)]
    [InlineData("team-0", "target", 317, 2_950, true)]
    [InlineData("", "target", 1_230, 2_900, true)]
    [InlineData("", "model", 1_230, 2_900, false)]
    [InlineData("team-0", "provider", 1_210, 2_930, true)]
    public async Task Latency_PercentilesAreWithinTheStatedErrorOfTheRows(string team, string groupBy, int fromMinute, int toMinute, bool rolledUp)
    {
        if (rolledUp)
        {
            await _host!.RollUpAsync(Cancellation);
        }

        var (from, to) = (s_day.AddMinutes(fromMinute), s_day.AddMinutes(toMinute));
        var query = new LatencyQuery { From = Timestamp.FromDateTimeOffset(from), To = Timestamp.FromDateTimeOffset(to), GroupBy = groupBy, Team = team };

        var reply = await Analytics.LatencyAsync(query, cancellationToken: Cancellation);

        var inRange = Entries().Where(e => e.StartedAt >= from && e.StartedAt < to && (team.Length == 0 || e.Team == team)).ToList();
        Assert.Equal(inRange.Select(e => GroupOf(e, groupBy)).Distinct().Order(StringComparer.Ordinal), reply.Rows.Select(r => r.Group));
        foreach (var row in reply.Rows)
        {
            var rows = inRange.Where(e => GroupOf(e, groupBy) == row.Group).ToList();
            Assert.Equal(rows.Count, row.Requests);
            double[] latencies = [.. rows.Select(e => e.LatencyMs)];
            AssertClose(NearestRank(latencies, 0.5), row.LatencyP50Ms);
            AssertClose(NearestRank(latencies, 0.95), row.LatencyP95Ms);
            AssertClose(NearestRank(latencies, 0.99), row.LatencyP99Ms);
            var ttfts = rows.Where(e => e.TtftMs is not null).Select(e => e.TtftMs!.Value).ToArray();
            Assert.Equal(ttfts.Length, row.Streamed);
            Assert.Equal(ttfts.Length > 0, row.HasTtftP50Ms);
            if (ttfts.Length > 0)
            {
                AssertClose(NearestRank(ttfts, 0.5), row.TtftP50Ms);
                AssertClose(NearestRank(ttfts, 0.95), row.TtftP95Ms);
            }
        }
    }

    [Fact]
    public async Task SearchRequests_FiltersAndPagesNewestFirst_WithoutGapsOrRepeats()
    {
        var search = new RequestSearch
        {
            From = Timestamp.FromDateTimeOffset(s_day), To = Timestamp.FromDateTimeOffset(s_day.AddDays(3)),
            Model = "openai/m1", Team = "team-0", Limit = 4,
        };
        var seen = new List<string>();
        for (var pages = 0; pages < 50; pages++)
        {
            var page = await Analytics.SearchRequestsAsync(search, cancellationToken: Cancellation);
            seen.AddRange(page.Rows.Select(r => r.RequestId));
            if (page.NextCursor.Length == 0)
            {
                break;
            }

            search.Cursor = page.NextCursor;
        }

        var expected = Entries().Where(e => (e.RequestedModel == "openai/m1" || e.ServedModel == "openai/m1") && e.Team == "team-0")
            .OrderByDescending(e => e.StartedAt).Select(e => e.RequestId);
        Assert.Equal(expected, seen);

        var one = await Analytics.SearchRequestsAsync(new RequestSearch
        {
            From = Timestamp.FromDateTimeOffset(s_day), To = Timestamp.FromDateTimeOffset(s_day.AddDays(3)), RequestId = "req-004",
        }, cancellationToken: Cancellation);
        var row = Assert.Single(one.Rows);
        Assert.Equal(("user-1", "team-0", "va-1", "p1"), (row.User, row.Team, row.VirtualAccount, row.Metadata["project"]));
        // The guardrail findings come back as recorded, in order; rows without any have none.
        Assert.Equal(_records[4].Guardrails, row.Guardrails);
        Assert.Empty(Assert.Single((await Analytics.SearchRequestsAsync(new RequestSearch
        {
            From = Timestamp.FromDateTimeOffset(s_day), To = Timestamp.FromDateTimeOffset(s_day.AddDays(3)), RequestId = "req-005",
        }, cancellationToken: Cancellation)).Rows).Guardrails);
    }

    [Theory]
    [InlineData("group_by", "group_by=colour")]
    [InlineData("group_by", "group_by=metadata.")]
    [InlineData("bucket", "bucket=week")]
    [InlineData("from", "no from")]
    [InlineData("to", "to before from")]
    [InlineData("bucket", "hourly over 40 days")]
    public async Task Usage_BadArguments_AreInvalidArgument_NamingTheField(string field, string what)
    {
        var query = new UsageQuery { From = Timestamp.FromDateTimeOffset(s_day), To = Timestamp.FromDateTimeOffset(s_day.AddDays(1)) };
        switch (what)
        {
            case "group_by=colour": query.GroupBy = "colour"; break;
            case "group_by=metadata.": query.GroupBy = "metadata."; break;
            case "bucket=week": query.Bucket = "week"; break;
            case "no from": query.From = null; break;
            case "to before from": query.To = Timestamp.FromDateTimeOffset(s_day.AddDays(-1)); break;
            default: query.Bucket = "hour"; query.To = Timestamp.FromDateTimeOffset(s_day.AddDays(40)); break;
        }

        var e = await Assert.ThrowsAsync<RpcException>(async () => await Analytics.UsageAsync(query, cancellationToken: Cancellation));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith(field + ": ", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SearchRequests_ForeignCursor_IsInvalidArgument()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Analytics.SearchRequestsAsync(new RequestSearch
        {
            From = Timestamp.FromDateTimeOffset(s_day), To = Timestamp.FromDateTimeOffset(s_day.AddDays(1)), Cursor = "not-a-cursor!",
        }, cancellationToken: Cancellation));

        Assert.StartsWith("cursor: ", e.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>Every page of <paramref name="query"/>, each checked to hold at most its limit.</summary>
    private async Task<(List<string> Lines, int Pages)> AllPagesAsync(UsageQuery query)
    {
        var lines = new List<string>();
        for (var pages = 1; pages <= 500; pages++)
        {
            var page = await Analytics.UsageAsync(query, cancellationToken: Cancellation);
            Assert.InRange(page.Rows.Count, 0, query.Limit);
            lines.AddRange(Lines(page));
            if (page.NextCursor.Length == 0)
            {
                return (lines, pages);
            }

            query.Cursor = page.NextCursor;
        }

        throw new InvalidOperationException("More than 500 pages: the cursor does not advance.");
    }

    private IEnumerable<LedgerEntry> Entries() => _records.Select(r => LedgerEntry.From(r, out _)!);

    private List<string> Expected(DateTimeOffset from, DateTimeOffset to, string groupBy, string bucket, string team) =>
        [.. Entries()
            .Where(e => e.StartedAt >= from && e.StartedAt < to && (team.Length == 0 || e.Team == team))
            .GroupBy(e => (Group: GroupOf(e, groupBy), Bucket: BucketOf(e.StartedAt, bucket)))
            .OrderBy(g => g.Key.Bucket ?? DateTimeOffset.MinValue).ThenBy(g => g.Key.Group, StringComparer.Ordinal)
            .Select(g => Line(g.Key.Group, g.Key.Bucket, g.Count(), g.Sum(e => (long)e.PromptTokens), g.Sum(e => (long)e.CompletionTokens),
                g.Sum(e => (long)e.CachedTokens), g.Sum(e => e.CostUsd), g.Count(e => e.StatusCode >= 400), g.Sum(e => e.CacheSavingsUsd)))];

    private static List<string> Lines(UsageReply reply) =>
        [.. reply.Rows.Select(r => Line(r.HasGroup ? r.Group : null, r.Bucket?.ToDateTimeOffset(), r.Requests, r.PromptTokens, r.CompletionTokens,
            r.CachedTokens, decimal.Parse(r.CostUsd, CultureInfo.InvariantCulture), r.Errors, decimal.Parse(r.CacheSavingsUsd, CultureInfo.InvariantCulture)))];

    private static string Line(string? group, DateTimeOffset? bucket, long requests, long prompt, long completion, long cached, decimal cost, long errors, decimal savings) =>
        $"{group ?? "(null)"}|{bucket:O}|{requests}|{prompt}|{completion}|{cached}|{Money(cost)}|{errors}|{Money(savings)}";

    private static string? GroupOf(LedgerEntry e, string groupBy) => groupBy switch
    {
        "" => null,
        "model" => e.RequestedModel,
        "target" => e.ServedModel,
        "provider" => e.Provider,
        "user" => e.User,
        "team" => e.Team,
        "virtual_account" => e.VirtualAccount,
        _ => e.MetadataJson is null ? null : System.Text.Json.JsonDocument.Parse(e.MetadataJson).RootElement.TryGetProperty("project", out var p) ? p.GetString() : null,
    };

    private static DateTimeOffset? BucketOf(DateTimeOffset t, string bucket) => bucket switch
    {
        "hour" => new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero),
        "day" => new DateTimeOffset(t.Year, t.Month, t.Day, 0, 0, 0, TimeSpan.Zero),
        _ => null,
    };

    private static string Money(decimal value) => value.ToString("0.############################", CultureInfo.InvariantCulture);

    // The exact nearest-rank percentile: the smallest value with at least that share of values at or below it.
    private static double NearestRank(double[] values, double fraction)
    {
        Array.Sort(values);
        return values[Math.Max(1, (int)Math.Ceiling(fraction * values.Length)) - 1];
    }

    // The histograms' stated bound (docs/ARCHITECTURE.md, Ledger): within 4.8 % of the exact value.
    private static void AssertClose(double exact, double reported) =>
        Assert.InRange(reported, exact * (1 - 0.0477), exact * (1 + 0.0477));
}
