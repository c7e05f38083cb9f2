using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Testing;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

/// <summary>Ledger.Record over real gRPC against a real PostgreSQL.</summary>
public sealed class LedgerServiceTests(PostgresServerFixture postgres) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 1, TimeSpan.Zero));
    private string _database = "";
    private AccountingTestHost? _host;

    private Grpc.Ledger.LedgerClient Ledger => _host!.Ledger;

    public async ValueTask InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync("accounting");
        _host = await AccountingTestHost.StartAsync(_database, _time);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    private static RecordUsageRequest Batch(int count, string prefix = "req")
    {
        var request = new RecordUsageRequest();
        for (var i = 0; i < count; i++)
        {
            request.Records.Add(LedgerEntryTests.Valid($"{prefix}-{i}"));
        }

        return request;
    }

    [Fact]
    public async Task Batch_IsWrittenOnce_AndAgainOnlyCountsDuplicates()
    {
        var batch = Batch(50);

        var first = await Ledger.RecordAsync(batch, cancellationToken: TestContext.Current.CancellationToken);
        var second = await Ledger.RecordAsync(batch, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal((50, 0), (first.Written, first.Duplicates));
        Assert.Equal((0, 50), (second.Written, second.Duplicates));
        Assert.Equal(50L, await CountAsync());
    }

    [Fact]
    public async Task PartlyNewBatch_WritesOnlyTheNewRecords()
    {
        await Ledger.RecordAsync(Batch(3), cancellationToken: TestContext.Current.CancellationToken);

        var reply = await Ledger.RecordAsync(Batch(5), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal((2, 3), (reply.Written, reply.Duplicates));
        Assert.Equal(5L, await CountAsync());
    }

    [Fact]
    public async Task Row_HoldsEveryField_WithCostInDecimal()
    {
        var record = LedgerEntryTests.Valid("req-fields");
        record.Streamed = true;
        record.TimeToFirstTokenMs = 3.25;
        record.ErrorType = "";
        record.CacheWriteTokens = 300;
        record.ReasoningTokens = 100;
        record.UsageEstimated = true;
        record.Price.CacheWritePerMtok = "0.1875";
        var request = new RecordUsageRequest { Records = { record } };

        await Ledger.RecordAsync(request, cancellationToken: TestContext.Current.CancellationToken);

        // 500 * 0.15 + 200 * 0.075 + 300 * 0.1875 + 500 * 0.60 = 75 + 15 + 56.25 + 300 = 446.25 micro-dollars.
        Assert.Equal(
            "req-fields|2025-06-01 12:00:00+00|2025-06-01 12:00:01+00|0196f6c0-0000-7000-8000-000000000001|ci|mock/gpt-4o-mini|mock/gpt-4o-mini|openai-compatible|1000|500|200|300|100|t|0.0004462500|12.5|3.25|200||t",
            await PostgresServerFixture.ScalarAsync<string>(_database, """
                SET TIME ZONE 'UTC';
                SELECT concat_ws('|', request_id, started_at, recorded_at, token_id, token_name, requested_model, served_model, provider,
                    prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, usage_estimated,
                    cost_usd, latency_ms, ttft_ms, status_code, coalesce(error_type, ''), streamed)
                FROM accounting.ledger
                """));
    }

    [Fact]
    public async Task CacheHit_IsStored_AtZeroCost_NextToAPaidCall()
    {
        var hit = LedgerEntryTests.Valid("req-hit");
        hit.CacheHit = true;
        var request = new RecordUsageRequest { Records = { LedgerEntryTests.Valid("req-paid"), hit } };

        await Ledger.RecordAsync(request, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("req-hit|t|0.0000000000|1000|500,req-paid|f|0.0004350000|1000|500", await PostgresServerFixture.ScalarAsync<string>(_database, """
            SELECT string_agg(concat_ws('|', request_id, cache_hit, cost_usd, prompt_tokens, completion_tokens), ',' ORDER BY request_id)
            FROM accounting.ledger
            """));
    }

    [Fact]
    public async Task UnauthenticatedFailure_IsRecordedWithoutIdentity()
    {
        var record = LedgerEntryTests.Valid("req-401");
        record.TokenId = "";
        record.TokenName = "";
        record.StatusCode = 401;
        record.ErrorType = "authentication_error";
        record.PromptTokens = record.CompletionTokens = record.CachedTokens = 0;

        var reply = await Ledger.RecordAsync(new RecordUsageRequest { Records = { record } }, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(1, reply.Written);
        Assert.Equal(1L, await PostgresServerFixture.ScalarAsync<long>(_database,
            "SELECT count(*) FROM accounting.ledger WHERE token_id IS NULL AND error_type = 'authentication_error' AND cost_usd = 0"));
    }

    [Fact]
    public async Task InvalidRecord_RejectsTheWholeBatch_NamingTheRecord()
    {
        var batch = Batch(3);
        batch.Records[1].PromptTokens = -5;

        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await Ledger.RecordAsync(batch, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("record 1", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("req-1", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0L, await CountAsync());
    }

    [Fact]
    public async Task ReasoningBeyondCompletion_RejectsTheBatch_WithThePreciseReason()
    {
        var batch = Batch(2);
        batch.Records[1].ReasoningTokens = 600;

        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await Ledger.RecordAsync(batch, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(
            "record 1 (request_id 'req-1'): reasoning_tokens (600) must not exceed completion_tokens (500): reasoning is part of the completion",
            e.Status.Detail);
        Assert.Equal(0L, await CountAsync());
    }

    [Fact]
    public async Task EmptyBatch_WritesNothing()
    {
        var reply = await Ledger.RecordAsync(new RecordUsageRequest(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal((0, 0), (reply.Written, reply.Duplicates));
    }

    [Fact]
    public async Task DuplicateWithinOneBatch_IsWrittenOnce()
    {
        var batch = Batch(2);
        batch.Records.Add(LedgerEntryTests.Valid("req-0"));

        var reply = await Ledger.RecordAsync(batch, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal((2, 1), (reply.Written, reply.Duplicates));
    }

    [Fact]
    public async Task ConcurrentOverlappingBatches_WriteEachRowOnce_AndCountItOnceInTheTotals()
    {
        // Two deliveries of overlapping batches at the same time (a retry racing a slow acknowledgement).
        var replies = await Task.WhenAll(
            Ledger.RecordAsync(Batch(300), cancellationToken: TestContext.Current.CancellationToken).ResponseAsync,
            Ledger.RecordAsync(Batch(400), cancellationToken: TestContext.Current.CancellationToken).ResponseAsync,
            Ledger.RecordAsync(Batch(300), cancellationToken: TestContext.Current.CancellationToken).ResponseAsync);

        Assert.Equal(400, replies.Sum(r => r.Written));
        Assert.Equal(400L, await CountAsync());
        // The queue holds each new row once; rolling it up twice adds nothing the second time.
        Assert.Equal(400, await _host!.RollUpAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, await _host.RollUpAsync(TestContext.Current.CancellationToken));
        Assert.Equal("400 400000", await PostgresServerFixture.ScalarAsync<string>(_database,
            "SELECT sum(requests) || ' ' || sum(prompt_tokens) FROM accounting.usage_totals WHERE dimension = 'route' AND grain = 'hour' AND team = ''"));
    }

    [Fact]
    public async Task Row_HoldsIdentityMetadataAndDerivedTimes()
    {
        var record = LedgerEntryTests.Valid("req-identity");
        record.User = "ada";
        record.Team = "ml";
        record.VirtualAccount = "ci";
        record.Metadata["project"] = "search";
        record.Metadata["env"] = "prod";
        record.Streamed = true;
        record.TimeToFirstTokenMs = 100;
        record.LatencyMs = 599;

        await Ledger.RecordAsync(new RecordUsageRequest { Records = { record } }, cancellationToken: TestContext.Current.CancellationToken);

        // (599 - 100) / (500 - 1) = 1 ms per output token; 200 cached tokens saved (0.15 - 0.075) per million each.
        Assert.Equal("ada|ml|ci|{\"env\": \"prod\", \"project\": \"search\"}|1|0.0000150000", await PostgresServerFixture.ScalarAsync<string>(_database,
            "SELECT concat_ws('|', user_id, team, virtual_account, metadata, time_per_output_token_ms, cache_savings_usd) FROM accounting.ledger"));
    }

    private Task<long> CountAsync() => PostgresServerFixture.ScalarAsync<long>(_database, "SELECT count(*) FROM accounting.ledger");
}
