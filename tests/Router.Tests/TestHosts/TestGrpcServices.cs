using System.Collections.Concurrent;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Policy.Grpc;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Gateway.Aspire.Router.Tests.TestHosts;

/// <summary>
/// Test double of policy's Admission and Tokens services over real gRPC. Known tokens:
/// <see cref="GoodToken"/> (every model) and <see cref="RestrictedToken"/> (only mock/gpt-4o).
/// </summary>
public sealed class TestPolicy
{
    public const string GoodToken = "gw-good";
    public const string RestrictedToken = "gw-restricted";
    public const string AdminKey = "admin-secret";

    /// <summary>Always refused by rule <c>ci-rpm</c> (50 requests per minute, retry in 30 s).</summary>
    public const string LimitedToken = "gw-limited";

    /// <summary>Admitted under rule <c>ci-tpm</c> (1000 tokens per minute, 400 left), with a reservation to settle.</summary>
    public const string CountedToken = "gw-counted";

    /// <summary>Refused by hard budget <c>ci-daily</c> (the OpenAI-format 429 of budgets).</summary>
    public const string BrokeToken = "gw-broke";

    /// <summary>Admitted under budget <c>ci-daily</c>, with a budget reservation to settle.</summary>
    public const string BudgetedToken = "gw-budgeted";

    /// <summary>A personal token of user <c>ada</c> in team <c>team-a</c>; not an admin (admin calls: 403).</summary>
    public const string TeamMemberToken = "gw-ada";

    /// <summary>What Admit received for <see cref="CountedToken"/> and <see cref="BudgetedToken"/>, by request id.</summary>
    public static readonly ConcurrentDictionary<string, AdmitRequest> CountedAdmits = new();

    /// <summary>Settlements received (Settle or SettleBatch) by request id.</summary>
    public static readonly ConcurrentDictionary<string, SettleRequest> Settles = new();

    /// <summary>SettleBatch calls received (retries included), in arrival order.</summary>
    public static readonly ConcurrentQueue<SettleBatchRequest> SettleBatches = new();

    /// <summary>Waits (polling briefly, at most 5 s) for the Settle call of <paramref name="requestId"/>, which the router sends after the response.</summary>
    public static async Task<SettleRequest> WaitForSettleAsync(string requestId)
    {
        for (var i = 0; i < 250; i++)
        {
            if (Settles.TryGetValue(requestId, out var settle))
            {
                return settle;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Request {requestId} was never settled.");
    }

    public sealed class AdmissionService : Admission.AdmissionBase
    {
        public override Task<AdmitReply> Admit(AdmitRequest request, ServerCallContext context)
        {
            var reply = request.Token switch
            {
                GoodToken => new AdmitReply { Decision = AdmitDecision.Allowed, Identity = new Identity { TokenId = "tok-good", TokenName = "good" } },
                TeamMemberToken => new AdmitReply
                {
                    Decision = AdmitDecision.Allowed,
                    Identity = new Identity { TokenId = "tok-ada", TokenName = "ada-laptop", Kind = "personal", User = "ada", Teams = { "team-a" } },
                },
                RestrictedToken => new AdmitReply
                {
                    Decision = request.Model is "" or "mock/gpt-4o" ? AdmitDecision.Allowed : AdmitDecision.ModelNotAllowed,
                    Identity = new Identity { TokenId = "tok-restricted", TokenName = "restricted" },
                    AllowedModels = { "mock/gpt-4o" },
                },
                LimitedToken => new AdmitReply
                {
                    Decision = AdmitDecision.RateLimited,
                    Identity = new Identity { TokenId = "tok-limited", TokenName = "limited" },
                    Message = "Rate limit reached for rule 'ci-rpm': 50 requests_per_minute. Retry after 30 s.",
                    RateLimitRule = "ci-rpm",
                    RateLimits = { new RateLimitStatus { Kind = "requests", Limit = 50, Remaining = 0, ResetMs = 61_000 } },
                    RetryAfterMs = 29_500,
                },
                CountedToken => new AdmitReply
                {
                    Decision = AdmitDecision.Allowed,
                    Identity = new Identity { TokenId = "tok-counted", TokenName = "counted" },
                    RateLimitRule = "ci-tpm",
                    RateLimits = { new RateLimitStatus { Kind = "tokens", Limit = 1000, Remaining = 400, ResetMs = 1_500 } },
                    Reservation = "reservation-" + request.RequestId,
                },
                BrokeToken => new AdmitReply
                {
                    Decision = AdmitDecision.BudgetExceeded,
                    Identity = new Identity { TokenId = "tok-broke", TokenName = "broke" },
                    Message = "Budget 'ci-daily' exceeded: 10 USD per day, 9.99 USD spent or reserved, and this request may cost up to 0.02 USD. It resets at 2030-01-10T00:00:00Z.",
                    BudgetRule = "ci-daily",
                    Budgets =
                    {
                        new BudgetStatus { Rule = "ci-daily", Enforced = true, LimitNanoUsd = 10_000_000_000, SpentNanoUsd = 9_990_000_000, Exceeded = false, ResetsAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2030, 1, 10, 0, 0, 0, TimeSpan.Zero)) },
                        new BudgetStatus { Rule = "team-weekly", LimitNanoUsd = 20_000_000_000, SpentNanoUsd = 20_000_000_000, ResetsAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2030, 1, 14, 0, 0, 0, TimeSpan.Zero)) },
                    },
                },
                BudgetedToken => new AdmitReply
                {
                    Decision = AdmitDecision.Allowed,
                    Identity = new Identity { TokenId = "tok-budgeted", TokenName = "budgeted" },
                    BudgetReservation = "budget-" + request.RequestId,
                    // Two budgets: the headers describe the tighter (team-weekly: 1.5 of 20 USD left).
                    Budgets =
                    {
                        new BudgetStatus { Rule = "ci-daily", Enforced = true, LimitNanoUsd = 10_000_000_000, SpentNanoUsd = 2_500_000_000, ResetsAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2030, 1, 10, 0, 0, 0, TimeSpan.Zero)) },
                        new BudgetStatus { Rule = "team-weekly", LimitNanoUsd = 20_000_000_000, SpentNanoUsd = 18_500_000_000, ResetsAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2030, 1, 14, 0, 0, 0, TimeSpan.Zero)) },
                    },
                },
                _ => new AdmitReply { Decision = AdmitDecision.InvalidToken, Message = "Incorrect API key provided." },
            };
            if (request.Token is CountedToken or BudgetedToken)
            {
                CountedAdmits[request.RequestId] = request;
            }

            return Task.FromResult(reply);
        }

        public override Task<SettleReply> Settle(SettleRequest request, ServerCallContext context)
        {
            Settles[request.RequestId] = request;
            return Task.FromResult(new SettleReply { Settled = true });
        }

        public override Task<SettleBatchReply> SettleBatch(SettleBatchRequest request, ServerCallContext context)
        {
            SettleBatches.Enqueue(request);
            foreach (var settle in request.Settlements)
            {
                Settles[settle.RequestId] = settle;
            }

            return Task.FromResult(new SettleBatchReply { Applied = true, Settled = request.Settlements.Count });
        }
    }

    public sealed class TokensService : Tokens.TokensBase
    {
        public override Task<CreateTokenReply> CreateToken(CreateTokenRequest request, ServerCallContext context)
        {
            if (context.RequestHeaders.GetValue("authorization") != "Bearer " + AdminKey)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "Invalid admin key."));
            }

            return Task.FromResult(new CreateTokenReply { Id = "tok-new", Name = request.Name, Token = "gw-new-secret", Models = { request.Models } });
        }

        public override Task<AuthorizeAdminReply> AuthorizeAdmin(AuthorizeAdminRequest request, ServerCallContext context) =>
            context.RequestHeaders.GetValue("authorization") switch
            {
                "Bearer " + AdminKey => Task.FromResult(new AuthorizeAdminReply()),
                "Bearer " + TeamAdminKey => Task.FromResult(new AuthorizeAdminReply { Team = "team-a" }),
                "Bearer " + TeamMemberToken => throw new RpcException(new Status(StatusCode.PermissionDenied, "This token is not an admin's.")),
                "Bearer " + TeamsAdminKey => Task.FromResult(new AuthorizeAdminReply { Team = "team-b", Teams = { "team-b", "team-c" } }),
                _ => throw new RpcException(new Status(StatusCode.Unauthenticated, "Invalid admin key.")),
            };
    }

    /// <summary>An admin key bound to team <c>team-a</c> (a team admin).</summary>
    public const string TeamAdminKey = "team-admin-secret";

    /// <summary>An admin key of a team admin of <c>team-b</c> and <c>team-c</c>.</summary>
    public const string TeamsAdminKey = "teams-admin-secret";
}

/// <summary>Guardrails double: blocks bodies containing <see cref="BlockWord"/>, else allows.</summary>
public sealed class TestGuardrailsService : Guardrails.Grpc.Guardrails.GuardrailsBase
{
    public const string BlockWord = "FORBIDDEN-WORD";

    public override Task<CheckReply> CheckInput(CheckRequest request, ServerCallContext context) =>
        Task.FromResult(request.Body.ToStringUtf8().Contains(BlockWord, StringComparison.Ordinal)
            ? new CheckReply { Verdict = Verdict.Block, Guardrail = "test-rule", Category = "test-category", Message = "Not allowed." }
            : new CheckReply { Verdict = Verdict.Allow });
}

/// <summary>Ledger double: keeps every record it acknowledged, idempotent on request id like the real one.</summary>
public sealed class TestLedgerService : Ledger.LedgerBase
{
    private readonly ConcurrentDictionary<string, UsageRecord> _records = new();

    public int Batches;

    public override Task<RecordUsageReply> Record(RecordUsageRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Batches);
        // Like the real ledger: one invalid record rejects the whole batch and nothing is written.
        if (request.Records.FirstOrDefault(r => r.RequestId.Length == 0 || r.PromptTokens < 0) is { } invalid)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"record {request.Records.IndexOf(invalid)}: invalid"));
        }

        var written = request.Records.Count(r => _records.TryAdd(r.RequestId, r));
        return Task.FromResult(new RecordUsageReply { Written = written, Duplicates = request.Records.Count - written });
    }

    public bool TryGet(string requestId, out UsageRecord record) => _records.TryGetValue(requestId, out record!);

    /// <summary>Waits (polling briefly, at most 10 s) for the record of <paramref name="requestId"/>.</summary>
    public async Task<UsageRecord> WaitForAsync(string requestId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_records.TryGetValue(requestId, out var record))
            {
                return record;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No usage record for request {requestId} reached the ledger.");
    }
}

/// <summary>
/// Analytics double: remembers the last query of each kind and answers with fixed rows, so tests
/// check what the router asks and how it writes the answer (the sums themselves are Accounting.Tests').
/// </summary>
public sealed class TestAnalyticsService : Gateway.Aspire.Accounting.Grpc.Analytics.AnalyticsBase
{
    /// <summary>A group_by this double refuses as accounting would, to test error mapping.</summary>
    public const string RefusedGroupBy = "metadata.refused";

    public static readonly ConcurrentQueue<UsageQuery> UsageQueries = new();
    public static readonly ConcurrentQueue<RequestSearch> Searches = new();

    public override Task<UsageReply> Usage(UsageQuery request, ServerCallContext context)
    {
        if (request.GroupBy == RefusedGroupBy)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "group_by: refused by the test double."));
        }

        UsageQueries.Enqueue(request);
        var reply = new UsageReply
        {
            Rows =
            {
                new UsageRow
                {
                    Group = "mock/gpt-4o-mini", Requests = 3, PromptTokens = 300, CompletionTokens = 30, CachedTokens = 20,
                    CostUsd = "0.0000630", Errors = 1, CacheSavingsUsd = "0.0000015",
                    Bucket = request.Bucket.Length > 0 ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero)) : null,
                },
                new UsageRow { Requests = 1, CostUsd = "0", CacheSavingsUsd = "0" },
            },
            // Like accounting: a top-N answer is whole; a first page asked with limit 2 has a next one.
            NextCursor = request.Top == 0 && request.Limit == 2 && request.Cursor.Length == 0 ? "usage-page-2" : "",
        };
        return Task.FromResult(reply);
    }

    public override Task<LatencyReply> Latency(LatencyQuery request, ServerCallContext context) =>
        Task.FromResult(new LatencyReply
        {
            Rows = { new LatencyRow { Group = request.GroupBy, Requests = 2, LatencyP50Ms = 10, LatencyP95Ms = 19, LatencyP99Ms = 19.8, Streamed = 0 } },
        });

    public override Task<RequestPage> SearchRequests(RequestSearch request, ServerCallContext context)
    {
        Searches.Enqueue(request);
        var row = new RequestLogRow
        {
            RequestId = "req-1", StartedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero)),
            User = "ada", RequestedModel = "mock/gpt-4o-mini", ServedModel = "mock/gpt-4o-mini", Provider = "openai-compatible",
            StatusCode = 200, CostUsd = "0.5", LatencyMs = 12.5, Metadata = { ["project"] = "x" },
            Guardrails = { new GuardrailFinding { Rule = "safety", Check = "prompt_injection", Category = "jailbreak", Action = "flag", Count = 1, Stage = "input" } },
        };
        return Task.FromResult(new RequestPage { Rows = { row }, NextCursor = request.Cursor.Length == 0 ? "next-page" : "" });
    }
}
