using System.Collections.Concurrent;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Policy.Grpc;
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

    public sealed class AdmissionService : Admission.AdmissionBase
    {
        public override Task<AdmitReply> Admit(AdmitRequest request, ServerCallContext context)
        {
            var reply = request.Token switch
            {
                GoodToken => new AdmitReply { Decision = AdmitDecision.Allowed, Identity = new Identity { TokenId = "tok-good", TokenName = "good" } },
                RestrictedToken => new AdmitReply
                {
                    Decision = request.Model is "" or "mock/gpt-4o" ? AdmitDecision.Allowed : AdmitDecision.ModelNotAllowed,
                    Identity = new Identity { TokenId = "tok-restricted", TokenName = "restricted" },
                    AllowedModels = { "mock/gpt-4o" },
                },
                _ => new AdmitReply { Decision = AdmitDecision.InvalidToken, Message = "Incorrect API key provided." },
            };
            return Task.FromResult(reply);
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
    }
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
