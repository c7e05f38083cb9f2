using Microsoft.Extensions.Time.Testing;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Testing;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

/// <summary>
/// Each provider's usage shape, converted to the router's one shape (OpenAI semantics: prompt
/// includes cache reads and writes, completion includes reasoning), recorded over real gRPC and
/// billed in PostgreSQL to the exact decimal computed by hand in the comments.
/// </summary>
public sealed class ProviderBillsTests(PostgresServerFixture postgres) : IAsyncLifetime
{
    private AccountingTestHost? _host;

    public async ValueTask InitializeAsync() => _host = await AccountingTestHost.StartAsync(await postgres.CreateDatabaseAsync("accounting"),
        // The clock of LedgerEntryTests.Valid records (2025-06-01): with the real clock, retention could drop their day at once.
        new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 1, TimeSpan.Zero)));

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task OpenAi_CachedAndReasoningTokens()
    {
        // usage: { "prompt_tokens": 2345, "completion_tokens": 1500,
        //   "prompt_tokens_details": { "cached_tokens": 1920 },
        //   "completion_tokens_details": { "reasoning_tokens": 1024 } }
        var record = Record("openai", prompt: 2345, completion: 1500, cached: 1920, cacheWrite: 0, reasoning: 1024,
            new Price { InputPerMtok = "1.10", CachedInputPerMtok = "0.275", OutputPerMtok = "4.40" });

        // uncached 425 * 1.10 = 467.5; cached 1920 * 0.275 = 528;
        // answer 476 * 4.40 = 2094.4; reasoning (no own price: output) 1024 * 4.40 = 4505.6
        // = 7595.5 micro-dollars.
        Assert.Equal(0.0075955m, await BillAsync(record));
    }

    [Fact]
    public async Task Anthropic_CacheReadsAndCacheWrites()
    {
        // usage: { "input_tokens": 50, "cache_creation_input_tokens": 2048,
        //   "cache_read_input_tokens": 10000, "output_tokens": 700 }
        // input_tokens counts only the uncached rest, so the prompt is 50 + 2048 + 10000 = 12098.
        var record = Record("anthropic", prompt: 12_098, completion: 700, cached: 10_000, cacheWrite: 2048, reasoning: 0,
            new Price { InputPerMtok = "3.00", CacheWritePerMtok = "3.75", CachedInputPerMtok = "0.30", OutputPerMtok = "15.00" });

        // uncached 50 * 3.00 = 150; cache read 10000 * 0.30 = 3000; cache write 2048 * 3.75 = 7680;
        // output 700 * 15.00 = 10500 = 21330 micro-dollars.
        Assert.Equal(0.02133m, await BillAsync(record));
    }

    [Fact]
    public async Task Gemini_CachedContentAndThoughts()
    {
        // usageMetadata: { "promptTokenCount": 4321, "cachedContentTokenCount": 4096,
        //   "candidatesTokenCount": 250, "thoughtsTokenCount": 777, "totalTokenCount": 5348 }
        // candidatesTokenCount leaves the thoughts out, so the completion is 250 + 777 = 1027.
        var record = Record("gemini", prompt: 4321, completion: 1027, cached: 4096, cacheWrite: 0, reasoning: 777,
            new Price { InputPerMtok = "0.30", CachedInputPerMtok = "0.075", OutputPerMtok = "0.60", ReasoningPerMtok = "3.50" });

        // uncached 225 * 0.30 = 67.5; cached 4096 * 0.075 = 307.2;
        // answer 250 * 0.60 = 150; thoughts (their own price) 777 * 3.50 = 2719.5 = 3244.2 micro-dollars.
        Assert.Equal(0.0032442m, await BillAsync(record));
    }

    [Fact]
    public async Task OpenAiCompatible_WithoutReportedUsage_IsBilledFromTheEstimate_AndMarked()
    {
        // A server that sent no usage: the router counted 812 prompt and 64 completion tokens itself.
        var record = Record("openai-compatible", prompt: 812, completion: 64, cached: 0, cacheWrite: 0, reasoning: 0,
            new Price { InputPerMtok = "0.20", OutputPerMtok = "0.20" });
        record.UsageEstimated = true;

        // (812 + 64) * 0.20 = 175.2 micro-dollars.
        Assert.Equal(0.0001752m, await BillAsync(record));
        Assert.True(await PostgresServerFixture.ScalarAsync<bool>(_host!.Database,
            $"SELECT usage_estimated FROM accounting.ledger WHERE request_id = '{record.RequestId}'"));
    }

    private static UsageRecord Record(string provider, int prompt, int completion, int cached, int cacheWrite, int reasoning, Price price)
    {
        var record = LedgerEntryTests.Valid($"req-{provider}");
        record.Provider = provider;
        record.PromptTokens = prompt;
        record.CompletionTokens = completion;
        record.CachedTokens = cached;
        record.CacheWriteTokens = cacheWrite;
        record.ReasoningTokens = reasoning;
        record.Price = price;
        return record;
    }

    private async Task<decimal> BillAsync(UsageRecord record)
    {
        var reply = await _host!.Ledger.RecordAsync(new RecordUsageRequest { Records = { record } }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(1, reply.Written);
        return await PostgresServerFixture.ScalarAsync<decimal>(_host.Database,
            $"SELECT cost_usd FROM accounting.ledger WHERE request_id = '{record.RequestId}'");
    }
}
