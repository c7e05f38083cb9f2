using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Ledger;
using Google.Protobuf.WellKnownTypes;

namespace Gateway.Aspire.LedgerBench;

/// <summary>
/// Deterministic synthetic calls shaped like a busy gateway's: 20 models on 5 providers, 1000
/// users in 50 teams, 200 virtual accounts, two metadata keys, 2 % errors, half streamed.
/// </summary>
internal static class SyntheticUsage
{
    private static readonly Price s_price = new() { InputPerMtok = "0.15", OutputPerMtok = "0.60", CachedInputPerMtok = "0.075" };

    /// <summary>Call <paramref name="i"/> of a run, started at <paramref name="startedAt"/>.</summary>
    public static LedgerEntry Entry(string run, long i, DateTimeOffset startedAt)
    {
        var user = (int)(i * 37 % 1000);
        var model = $"acct{i % 5}/model-{i % 20}";
        var record = new UsageRecord
        {
            RequestId = $"{run}-{i:D9}",
            StartedAt = Timestamp.FromDateTimeOffset(startedAt),
            TokenId = $"tok-{i % 200}",
            TokenName = $"va-{i % 200}",
            RequestedModel = model,
            ServedModel = model,
            Provider = $"provider-{i % 5}",
            PromptTokens = (int)(i * 7 % 4000) + 400,
            CompletionTokens = (int)(i * 13 % 1000) + 2,
            CachedTokens = (int)(i * 7 % 400),
            LatencyMs = 100 + i * 31 % 5000,
            TimeToFirstTokenMs = i % 2 == 0 ? 50 + i * 17 % 500 : 0,
            StatusCode = i % 50 == 0 ? 429 : 200,
            ErrorType = i % 50 == 0 ? "rate_limit_error" : "",
            Streamed = i % 2 == 0,
            Price = s_price,
            User = $"user-{user}",
            Team = $"team-{user / 20}",
            VirtualAccount = $"va-{i % 200}",
            Metadata = { ["project"] = $"p{i % 10}", ["env"] = i % 3 == 0 ? "dev" : "prod" },
        };
        return LedgerEntry.From(record, out var error) ?? throw new InvalidOperationException(error);
    }
}
