using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Ledger;
using Google.Protobuf.WellKnownTypes;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

public sealed class LedgerEntryTests
{
    internal static UsageRecord Valid(string requestId = "req-1") => new()
    {
        RequestId = requestId,
        StartedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero)),
        TokenId = "0196f6c0-0000-7000-8000-000000000001",
        TokenName = "ci",
        RequestedModel = "mock/gpt-4o-mini",
        ServedModel = "mock/gpt-4o-mini",
        Provider = "openai-compatible",
        PromptTokens = 1000,
        CompletionTokens = 500,
        CachedTokens = 200,
        LatencyMs = 12.5,
        StatusCode = 200,
        Price = new Price { InputPerMtok = "0.15", OutputPerMtok = "0.60", CachedInputPerMtok = "0.075" },
    };

    [Fact]
    public void ValidRecord_ComputesCost_AndMapsEmptyToNull()
    {
        var entry = LedgerEntry.From(Valid(), out var error);

        Assert.Null(error);
        Assert.NotNull(entry);
        Assert.Equal(0.000435m, entry.CostUsd);
        Assert.Null(entry.ErrorType);
        Assert.Null(entry.TtftMs);
    }

    [Fact]
    public void CacheHit_IsFree_WhateverThePrice_AndKeepsItsTokens()
    {
        var record = Valid();
        record.CacheHit = true;

        var entry = LedgerEntry.From(record, out var error);

        Assert.Null(error);
        Assert.Equal((0m, true, 1000, 500), (entry!.CostUsd, entry.CacheHit, entry.PromptTokens, entry.CompletionTokens));
        // What the call would have cost (the valid record's 0.000435) is what the response cache saved.
        Assert.Equal(0.000435m, entry.CacheSavingsUsd);
    }

    [Fact]
    public void MissingPrice_IsFree()
    {
        var record = Valid();
        record.Price = null;

        Assert.Equal(0m, LedgerEntry.From(record, out _)?.CostUsd);
    }

    [Fact]
    public void NewCounts_AreCarried_AndEmptyCacheWriteAndReasoningPricesFallBackToInputAndOutput()
    {
        var record = Valid();
        record.CacheWriteTokens = 300;
        record.ReasoningTokens = 100;
        record.UsageEstimated = true;

        var entry = LedgerEntry.From(record, out var error);

        // Same bill as without the split: 800 * 0.15 (500 uncached + 300 written) + 200 * 0.075 + 500 * 0.60.
        Assert.Null(error);
        Assert.Equal((300, 100, true, 0.000435m), (entry?.CacheWriteTokens, entry?.ReasoningTokens, entry?.UsageEstimated, entry?.CostUsd));
    }

    [Fact]
    public void GivenCacheWriteAndReasoningPrices_AreUsed()
    {
        var record = Valid();
        record.CacheWriteTokens = 300;
        record.ReasoningTokens = 100;
        record.Price.CacheWritePerMtok = "0.1875";
        record.Price.ReasoningPerMtok = "2.4e0";

        // 500 * 0.15 + 200 * 0.075 + 300 * 0.1875 + 400 * 0.60 + 100 * 2.4
        // = 75 + 15 + 56.25 + 240 + 240 = 626.25 micro-dollars.
        Assert.Equal(0.00062625m, LedgerEntry.From(record, out _)?.CostUsd);
    }

    [Theory]
    [InlineData("request_id", "request_id is required")]
    [InlineData("long_request_id", "request_id is longer than 128 characters")]
    [InlineData("negative_tokens", "completion_tokens must not be negative; got -1")]
    [InlineData("negative_cache_write", "cache_write_tokens must not be negative; got -3")]
    [InlineData("negative_reasoning", "reasoning_tokens must not be negative; got -4")]
    [InlineData("cached_over_prompt",
        "cached_tokens + cache_write_tokens (1001 + 0) must not exceed prompt_tokens (1000): cache reads and writes are part of the prompt")]
    [InlineData("cache_write_over_prompt",
        "cached_tokens + cache_write_tokens (200 + 801) must not exceed prompt_tokens (1000): cache reads and writes are part of the prompt")]
    [InlineData("cache_counts_overflow_int",
        "cached_tokens + cache_write_tokens (2147483647 + 2147483647) must not exceed prompt_tokens (2147483647): cache reads and writes are part of the prompt")]
    [InlineData("reasoning_over_completion",
        "reasoning_tokens (501) must not exceed completion_tokens (500): reasoning is part of the completion")]
    [InlineData("price", "price.input_per_mtok '0,15' is not a decimal number")]
    [InlineData("negative_price", "price.output_per_mtok must not be negative")]
    [InlineData("cache_write_price", "price.cache_write_per_mtok '3.75 USD' is not a decimal number")]
    [InlineData("negative_reasoning_price", "price.reasoning_per_mtok must not be negative")]
    [InlineData("absurd_price", "cost exceeds what the ledger can hold; check the prices")]
    [InlineData("started_at", "started_at is required")]
    [InlineData("status_code", "status_code must be an HTTP status (100-599)")]
    [InlineData("latency", "latency_ms must be a finite number ≥ 0")]
    [InlineData("many_findings", "guardrails has 257 findings; at most 256 are accepted")]
    [InlineData("nul_in_finding", "guardrails findings' fields must be at most 1024 characters without NUL characters")]
    public void InvalidRecord_IsRejectedWithAReason(string defect, string expected)
    {
        var record = Valid();
        switch (defect)
        {
            case "request_id": record.RequestId = ""; break;
            case "long_request_id": record.RequestId = new string('r', 129); break;
            case "negative_tokens": record.CompletionTokens = -1; break;
            case "negative_cache_write": record.CacheWriteTokens = -3; break;
            case "negative_reasoning": record.ReasoningTokens = -4; break;
            case "cached_over_prompt": record.CachedTokens = 1001; break;
            case "cache_write_over_prompt": record.CacheWriteTokens = 801; break;
            case "cache_counts_overflow_int": record.PromptTokens = record.CachedTokens = record.CacheWriteTokens = int.MaxValue; break;
            case "reasoning_over_completion": record.ReasoningTokens = 501; break;
            case "price": record.Price.InputPerMtok = "0,15"; break;
            case "negative_price": record.Price.OutputPerMtok = "-1"; break;
            case "cache_write_price": record.Price.CacheWritePerMtok = "3.75 USD"; break;
            case "negative_reasoning_price": record.Price.ReasoningPerMtok = "-0.01"; break;
            // Parses as a decimal, but 1000 prompt tokens at it overflow decimal arithmetic.
            case "absurd_price": record.Price.InputPerMtok = "7e28"; break;
            case "started_at": record.StartedAt = null; break;
            case "status_code": record.StatusCode = 0; break;
            case "latency": record.LatencyMs = double.NaN; break;
            case "many_findings": record.Guardrails.Add(Enumerable.Repeat(new GuardrailFinding { Rule = "r", Action = "flag" }, 257)); break;
            case "nul_in_finding": record.Guardrails.Add(new GuardrailFinding { Rule = "r\0", Action = "flag" }); break;
        }

        Assert.Null(LedgerEntry.From(record, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void GuardrailFindings_AreKeptAsAJsonArray_AndNoneIsNull()
    {
        var record = Valid();
        Assert.Null(LedgerEntry.From(record, out _)!.GuardrailsJson);

        record.Guardrails.Add(new GuardrailFinding { Rule = "safety", Check = "moderation", Category = "hate", Action = "flag", Count = 1, Stage = "output" });
        Assert.Equal("""[{"rule":"safety","check":"moderation","category":"hate","action":"flag","count":1,"stage":"output"}]""",
            LedgerEntry.From(record, out _)!.GuardrailsJson);
    }

    [Fact]
    public void RequestIdOf128Characters_IsAccepted()
    {
        Assert.NotNull(LedgerEntry.From(Valid(new string('r', 128)), out _));
    }
}
