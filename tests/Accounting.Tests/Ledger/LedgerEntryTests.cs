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
    public void MissingPrice_IsFree()
    {
        var record = Valid();
        record.Price = null;

        Assert.Equal(0m, LedgerEntry.From(record, out _)?.CostUsd);
    }

    [Theory]
    [InlineData("request_id")]
    [InlineData("long_request_id")]
    [InlineData("negative_tokens")]
    [InlineData("cached_over_prompt")]
    [InlineData("price")]
    [InlineData("negative_price")]
    [InlineData("started_at")]
    [InlineData("status_code")]
    [InlineData("latency")]
    public void InvalidRecord_IsRejectedWithAReason(string defect)
    {
        var record = Valid();
        switch (defect)
        {
            case "request_id": record.RequestId = ""; break;
            case "long_request_id": record.RequestId = new string('r', 129); break;
            case "negative_tokens": record.CompletionTokens = -1; break;
            case "cached_over_prompt": record.CachedTokens = 1001; break;
            case "price": record.Price.InputPerMtok = "0,15"; break;
            case "negative_price": record.Price.OutputPerMtok = "-1"; break;
            case "started_at": record.StartedAt = null; break;
            case "status_code": record.StatusCode = 0; break;
            case "latency": record.LatencyMs = double.NaN; break;
        }

        Assert.Null(LedgerEntry.From(record, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void RequestIdOf128Characters_IsAccepted()
    {
        Assert.NotNull(LedgerEntry.From(Valid(new string('r', 128)), out _));
    }
}
