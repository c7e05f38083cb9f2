using System.Globalization;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.ServiceDefaults.Billing;

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
    int CacheWriteTokens,
    int ReasoningTokens,
    bool UsageEstimated,
    decimal CostUsd,
    double LatencyMs,
    double? TtftMs,
    int StatusCode,
    string? ErrorType,
    bool Streamed,
    bool CacheHit,
    string? ParentRequestId = null)
{
    /// <summary>Longest request id accepted.</summary>
    public const int MaxRequestIdLength = 128;

    /// <summary>Most guardrail findings accepted per record.</summary>
    public const int MaxGuardrailFindings = 256;

    /// <summary>Most metadata entries accepted (the router allows fewer).</summary>
    public const int MaxMetadataEntries = 64;

    /// <summary>Longest identity value, metadata key or metadata value accepted.</summary>
    public const int MaxValueLength = 1024;

    // Partitions are created for whatever day a record names: a timestamp far off (a broken clock)
    // would create partitions retention never drops, so such records are refused.
    private static readonly DateTimeOffset s_earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_latest = new(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The user the key belongs to; null when unknown.</summary>
    public string? User { get; init; }

    /// <summary>The team the call is billed to; null when unknown.</summary>
    public string? Team { get; init; }

    /// <summary>The virtual account of the key; null when unknown.</summary>
    public string? VirtualAccount { get; init; }

    /// <summary>The caller's metadata as a JSON object; null when there was none.</summary>
    public string? MetadataJson { get; init; }

    /// <summary>The call's guardrail findings as a JSON array; null when there were none.</summary>
    public string? GuardrailsJson { get; init; }

    /// <summary>(latency − ttft) / (completion tokens − 1) for streams; null when it cannot be measured.</summary>
    public double? TimePerOutputTokenMs { get; init; }

    /// <summary>What cached prompt tokens saved against the input price.</summary>
    public decimal CacheSavingsUsd { get; init; }

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

        var tokens = new TokenCounts(record.PromptTokens, record.CompletionTokens, record.CachedTokens)
        {
            CacheWriteTokens = record.CacheWriteTokens,
            ReasoningTokens = record.ReasoningTokens,
        };
        if (!UsageCost.TryCompute(tokens, prices, out var cost)
            || !UsageCost.TryComputeCacheSavings(record.CachedTokens, prices, out var savings))
        {
            error = "cost exceeds what the ledger can hold; check the prices";
            return null;
        }

        if (record.CacheHit)
        {
            // A cached answer made no provider call: its tokens are reported, its cost is 0, and
            // what the call would have cost is what the response cache saved.
            (cost, savings) = (0m, cost);
        }

        var ttft = record.TimeToFirstTokenMs > 0 ? record.TimeToFirstTokenMs : (double?)null;
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
            record.CacheWriteTokens,
            record.ReasoningTokens,
            record.UsageEstimated,
            cost,
            record.LatencyMs,
            // Zero means "not measured" (proto3 has no null): non-streamed calls have no first token.
            ttft,
            record.StatusCode,
            NullIfEmpty(record.ErrorType),
            record.Streamed,
            record.CacheHit,
            NullIfEmpty(record.ParentRequestId))
        {
            User = NullIfEmpty(record.User),
            Team = NullIfEmpty(record.Team),
            VirtualAccount = NullIfEmpty(record.VirtualAccount),
            MetadataJson = LedgerMetadata.ToJson(record.Metadata),
            GuardrailsJson = LedgerMetadata.ToJson(record.Guardrails),
            // The first token's wait is TTFT; the rest arrived over the remaining time.
            TimePerOutputTokenMs = record.Streamed && ttft is { } first && record.CompletionTokens >= 2 && record.LatencyMs >= first
                ? (record.LatencyMs - first) / (record.CompletionTokens - 1)
                : null,
            CacheSavingsUsd = savings,
        };
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

        if (record.ParentRequestId.Length > MaxRequestIdLength)
        {
            return $"parent_request_id is longer than {MaxRequestIdLength} characters";
        }

        if (record.StartedAt is null)
        {
            return "started_at is required";
        }

        try
        {
            var startedAt = record.StartedAt.ToDateTimeOffset();
            if (startedAt < s_earliest || startedAt >= s_latest)
            {
                return $"started_at {startedAt:O} is outside 2000-2099";
            }
        }
        catch (InvalidOperationException)
        {
            return "started_at is not a valid timestamp";
        }

        if (CheckIdentity(record) is { } identityError)
        {
            return identityError;
        }

        if (CheckGuardrails(record) is { } guardrailsError)
        {
            return guardrailsError;
        }

        if (CheckTokens(record) is { } tokenError)
        {
            return tokenError;
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

    private static string? CheckIdentity(UsageRecord record)
    {
        ReadOnlySpan<(string Field, string Value)> values =
            [("user", record.User), ("team", record.Team), ("virtual_account", record.VirtualAccount)];
        foreach (var (field, value) in values)
        {
            if (value.Length > MaxValueLength)
            {
                return $"{field} is longer than {MaxValueLength} characters";
            }

            if (value.Contains('\0', StringComparison.Ordinal))
            {
                return $"{field} must not contain NUL characters (PostgreSQL text cannot hold them)";
            }
        }

        if (record.Metadata.Count > MaxMetadataEntries)
        {
            return $"metadata has {record.Metadata.Count} entries; at most {MaxMetadataEntries} are accepted";
        }

        foreach (var (key, value) in record.Metadata)
        {
            if (key.Length is 0 or > MaxValueLength || value.Length > MaxValueLength)
            {
                return $"metadata keys must be 1-{MaxValueLength} characters and values at most {MaxValueLength}";
            }

            if (key.Contains('\0', StringComparison.Ordinal) || value.Contains('\0', StringComparison.Ordinal))
            {
                return "metadata must not contain NUL characters (PostgreSQL jsonb cannot hold them)";
            }
        }

        return null;
    }

    private static string? CheckGuardrails(UsageRecord record)
    {
        if (record.Guardrails.Count > MaxGuardrailFindings)
        {
            return $"guardrails has {record.Guardrails.Count} findings; at most {MaxGuardrailFindings} are accepted";
        }

        foreach (var finding in record.Guardrails)
        {
            foreach (var value in (ReadOnlySpan<string>)[finding.Rule, finding.Check, finding.Category, finding.Action, finding.Stage])
            {
                if (value.Length > MaxValueLength || value.Contains('\0', StringComparison.Ordinal))
                {
                    return $"guardrails findings' fields must be at most {MaxValueLength} characters without NUL characters";
                }
            }
        }

        return null;
    }

    private static string? CheckTokens(UsageRecord record)
    {
        ReadOnlySpan<(string Field, int Count)> counts =
        [
            ("prompt_tokens", record.PromptTokens),
            ("completion_tokens", record.CompletionTokens),
            ("cached_tokens", record.CachedTokens),
            ("cache_write_tokens", record.CacheWriteTokens),
            ("reasoning_tokens", record.ReasoningTokens),
        ];
        foreach (var (field, count) in counts)
        {
            if (count < 0)
            {
                return $"{field} must not be negative; got {count}";
            }
        }

        // long: two counts near int.MaxValue must not wrap around and pass.
        if ((long)record.CachedTokens + record.CacheWriteTokens > record.PromptTokens)
        {
            return $"cached_tokens + cache_write_tokens ({record.CachedTokens} + {record.CacheWriteTokens}) must not exceed "
                + $"prompt_tokens ({record.PromptTokens}): cache reads and writes are part of the prompt";
        }

        if (record.ReasoningTokens > record.CompletionTokens)
        {
            return $"reasoning_tokens ({record.ReasoningTokens}) must not exceed completion_tokens ({record.CompletionTokens}): "
                + "reasoning is part of the completion";
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
            || !TryParsePrice(price.CachedInputPerMtok, "price.cached_input_per_mtok", out var cached, out error)
            || !TryParsePrice(price.CacheWritePerMtok, "price.cache_write_per_mtok", out var cacheWrite, out error)
            || !TryParsePrice(price.ReasoningPerMtok, "price.reasoning_per_mtok", out var reasoning, out error))
        {
            return false;
        }

        // Empty input, output and cached input are 0 (as before); empty cache-write and reasoning
        // prices stay null, which UsageCost reads as "the input / output price".
        prices = new TokenPrices(input ?? 0m, output ?? 0m, cached ?? 0m)
        {
            CacheWritePerMtok = cacheWrite,
            ReasoningPerMtok = reasoning,
        };
        return true;
    }

    /// <summary>Parses one price; an empty string is null (not given).</summary>
    private static bool TryParsePrice(string text, string field, out decimal? value, out string? error)
    {
        error = null;
        value = null;
        if (text.Length == 0)
        {
            return true;
        }

        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent | NumberStyles.AllowLeadingSign,
                CultureInfo.InvariantCulture, out var parsed))
        {
            error = $"{field} '{(text.Length > 40 ? text[..40] + "…" : text)}' is not a decimal number";
            return false;
        }

        if (parsed < 0)
        {
            error = $"{field} must not be negative";
            return false;
        }

        value = parsed;
        return true;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
