using System.Globalization;
using Gateway.Aspire.Accounting.Grpc;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>One validated ledger row, cost included.</summary>
public sealed record LedgerEntry(
    string RequestId,
    DateTimeOffset StartedAt,
    string? TokenId,
    string? TokenName,
    string RequestedModel,
    string ServedModel,
    string Provider,
    int PromptTokens,
    int CompletionTokens,
    int CachedTokens,
    decimal CostUsd,
    double LatencyMs,
    double? TtftMs,
    int StatusCode,
    string? ErrorType,
    bool Streamed)
{
    /// <summary>Longest request id accepted.</summary>
    public const int MaxRequestIdLength = 128;

    /// <summary>
    /// Validates <paramref name="record"/> and computes its cost; returns null and the reason in
    /// <paramref name="error"/> when it is invalid.
    /// </summary>
    public static LedgerEntry? From(UsageRecord record, out string? error)
    {
        error = Check(record);
        if (error is not null)
        {
            return null;
        }

        if (!TryParsePrices(record.Price, out var prices, out error))
        {
            return null;
        }

        var cost = UsageCost.Compute(record.PromptTokens, record.CompletionTokens, record.CachedTokens, prices);
        if (cost > UsageCost.MaxCost)
        {
            error = "cost exceeds what the ledger can hold; check the prices";
            return null;
        }

        return new LedgerEntry(
            record.RequestId,
            record.StartedAt.ToDateTimeOffset(),
            NullIfEmpty(record.TokenId),
            NullIfEmpty(record.TokenName),
            record.RequestedModel,
            record.ServedModel,
            record.Provider,
            record.PromptTokens,
            record.CompletionTokens,
            record.CachedTokens,
            cost,
            record.LatencyMs,
            // Zero means "not measured" (proto3 has no null): non-streamed calls have no first token.
            record.TimeToFirstTokenMs > 0 ? record.TimeToFirstTokenMs : null,
            record.StatusCode,
            NullIfEmpty(record.ErrorType),
            record.Streamed);
    }

    private static string? Check(UsageRecord record)
    {
        if (record.RequestId.Length == 0)
        {
            return "request_id is required";
        }

        if (record.RequestId.Length > MaxRequestIdLength)
        {
            return $"request_id is longer than {MaxRequestIdLength} characters";
        }

        if (record.StartedAt is null)
        {
            return "started_at is required";
        }

        try
        {
            _ = record.StartedAt.ToDateTimeOffset();
        }
        catch (InvalidOperationException)
        {
            return "started_at is not a valid timestamp";
        }

        if (record.PromptTokens < 0 || record.CompletionTokens < 0 || record.CachedTokens < 0)
        {
            return "token counts must not be negative";
        }

        if (record.CachedTokens > record.PromptTokens)
        {
            return "cached_tokens must not exceed prompt_tokens (cached tokens are part of the prompt)";
        }

        if (!double.IsFinite(record.LatencyMs) || record.LatencyMs < 0)
        {
            return "latency_ms must be a finite number ≥ 0";
        }

        if (!double.IsFinite(record.TimeToFirstTokenMs) || record.TimeToFirstTokenMs < 0)
        {
            return "time_to_first_token_ms must be a finite number ≥ 0";
        }

        if (record.StatusCode is < 100 or > 599)
        {
            return "status_code must be an HTTP status (100-599)";
        }

        return null;
    }

    private static bool TryParsePrices(Price? price, out TokenPrices prices, out string? error)
    {
        prices = default;
        if (price is null)
        {
            // No catalog price (e.g. a self-hosted model): the call is free.
            error = null;
            return true;
        }

        if (!TryParsePrice(price.InputPerMtok, "price.input_per_mtok", out var input, out error)
            || !TryParsePrice(price.OutputPerMtok, "price.output_per_mtok", out var output, out error)
            || !TryParsePrice(price.CachedInputPerMtok, "price.cached_input_per_mtok", out var cached, out error))
        {
            return false;
        }

        prices = new TokenPrices(input, output, cached);
        return true;
    }

    private static bool TryParsePrice(string text, string field, out decimal value, out string? error)
    {
        error = null;
        if (text.Length == 0)
        {
            value = 0m;
            return true;
        }

        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent | NumberStyles.AllowLeadingSign,
                CultureInfo.InvariantCulture, out value))
        {
            error = $"{field} '{(text.Length > 40 ? text[..40] + "…" : text)}' is not a decimal number";
            return false;
        }

        if (value < 0)
        {
            error = $"{field} must not be negative";
            return false;
        }

        return true;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
