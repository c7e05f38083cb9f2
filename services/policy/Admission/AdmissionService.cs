using System.Globalization;
using System.Runtime.CompilerServices;
using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.ServiceDefaults.Billing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>
/// The router's one policy round trip per request. A bad key or a denied model is a decision in
/// the reply, never an error; errors mean policy itself cannot answer (Unavailable).
/// </summary>
/// <remarks>
/// Steps: (1) cheap format check, so garbage never reaches a cache or database; (2) hash and look
/// the token up (<see cref="TokenLookup"/>: memory ≤ 1 s, Redis, PostgreSQL); (3) expiry against
/// the injected clock; (4) model access; (5) rate limits and budgets: the first matching rate-limit
/// rule and every budget the call touches, checked and counted together by one atomic Redis script
/// (<see cref="AdmissionCounters"/>).
/// </remarks>
public sealed class AdmissionService(TokenLookup lookup, AdmissionCounters counters, TimeProvider time, ILogger<AdmissionService> logger)
    : Grpc.Admission.AdmissionBase
{
    private static readonly ConditionalWeakTable<TokenRecord, Derived> s_derived = new();

    /// <summary>Message for unknown, malformed and revoked keys (OpenAI's wording; never echoes the key).</summary>
    public const string InvalidTokenMessage = "Incorrect API key provided.";

    /// <summary>Message for expired keys.</summary>
    public const string ExpiredTokenMessage = "The API key provided has expired.";

    /// <summary>Longest <see cref="SettleBatchRequest.BatchId"/> accepted (it becomes part of a Redis key).</summary>
    public const int MaxBatchIdLength = 128;

    /// <inheritdoc />
    public override async Task<AdmitReply> Admit(AdmitRequest request, ServerCallContext context)
    {
        // (1) Format first: empty or garbage costs no lookup.
        if (!TokenSecret.IsWellFormed(request.Token))
        {
            return Deny(request, AdmitDecision.InvalidToken, InvalidTokenMessage);
        }

        // (2) Memory, then Redis, then PostgreSQL.
        var record = await lookup.FindAsync(request.Token, context.CancellationToken);
        if (record is null)
        {
            return Deny(request, AdmitDecision.InvalidToken, InvalidTokenMessage);
        }

        // (3) Expiry is checked here, not by cache TTLs, so it holds to the second on every tier.
        if (record.IsExpiredAt(time.GetUtcNow()))
        {
            return Deny(request, AdmitDecision.InvalidToken, ExpiredTokenMessage);
        }

        var reply = new AdmitReply
        {
            Decision = AdmitDecision.Allowed,
            Identity = DerivedOf(record).Identity,
        };

        // (4) Model access, only when the caller named a model. The list itself goes only to callers that
        // named none (GET /v1/models, count_tokens) and with a refusal: a token of many models would
        // otherwise send them all with every admitted request, which never reads them.
        if (request.Model.Length == 0)
        {
            reply.AllowedModels.AddRange(record.Models);
        }
        else if (!record.Allows(request.Model))
        {
            reply.AllowedModels.AddRange(record.Models);
            reply.Decision = AdmitDecision.ModelNotAllowed;
            reply.Message = $"This API key is not allowed to use the model '{Shorten(request.Model)}'.";
            PolicyLog.AdmissionDenied(logger, request.RequestId, nameof(AdmitDecision.ModelNotAllowed));
            return reply;
        }

        // (5) Rate limits and budgets: only for calls to a model (GET /v1/models is not counted).
        if (request.Model.Length > 0 && counters.Any)
        {
            await ApplyLimitsAsync(request, record, reply);
        }

        return reply;
    }

    /// <inheritdoc />
    public override async Task<SettleReply> Settle(SettleRequest request, ServerCallContext context)
    {
        try
        {
            return new SettleReply
            {
                Settled = await counters.SettleTokensAsync(request.Reservation, request.ActualTokens),
                // Unknown cost (field unset) keeps the reservation: the safe side.
                BudgetSettled = request.HasActualCostNanoUsd && await counters.SettleCostAsync(request.BudgetReservation, request.ActualCostNanoUsd),
            };
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            PolicyLog.RateLimitStoreUnavailable(logger, request.RequestId, e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The rate-limit store is unavailable; retry shortly."));
        }
    }

    /// <inheritdoc />
    /// <remarks>One Redis round trip for the whole batch (<see cref="SettlementBatch"/>), applied at most once per batch id.</remarks>
    public override async Task<SettleBatchReply> SettleBatch(SettleBatchRequest request, ServerCallContext context)
    {
        if (request.BatchId.Length is 0 or > MaxBatchIdLength)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"batch_id is required (at most {MaxBatchIdLength} characters)."));
        }

        try
        {
            var settled = await counters.SettleBatchAsync(request.BatchId, request.Settlements);
            PolicyLog.BatchSettled(logger, request.BatchId, request.Settlements.Count, settled ?? 0, settled is not null);
            return new SettleBatchReply { Applied = settled is not null, Settled = (int)(settled ?? 0) };
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            PolicyLog.RateLimitStoreUnavailable(logger, request.BatchId, e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The rate-limit store is unavailable; retry shortly."));
        }
    }

    private async Task ApplyLimitsAsync(AdmitRequest request, TokenRecord record, AdmitReply reply)
    {
        // Rules see personal tokens as user: and team: subjects; a token from before identities as its own virtual account.
        var call = new AdmissionCall(
            DerivedOf(record).Subjects, record.VirtualAccountName ?? "", request.Model, request.Metadata, request.EstimatedPromptTokens, request.MaxTokens, request.MaxCostNanoUsd)
        {
            User = record.User ?? "",
            Teams = record.Teams,
            Choices = Math.Max(1, request.Choices),
        };
        RateLimitOutcome? rateLimit;
        BudgetOutcome? budget;
        try
        {
            (rateLimit, budget) = await counters.AdmitAsync(call);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Fail closed: a limit that cannot be checked is not silently lifted.
            PolicyLog.RateLimitStoreUnavailable(logger, request.RequestId, e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The rate-limit and budget store is unavailable; retry shortly."));
        }

        if (rateLimit is not null)
        {
            ApplyRateLimit(request, rateLimit, reply);
        }

        if (budget is not null && reply.Decision == AdmitDecision.Allowed)
        {
            ApplyBudget(request, budget, reply);
        }
    }

    private void ApplyRateLimit(AdmitRequest request, RateLimitOutcome outcome, AdmitReply reply)
    {
        var rule = outcome.Rule;
        var kind = rule.Unit.Kind == RateLimitKind.Tokens ? "tokens" : "requests";
        reply.RateLimitRule = rule.Id;
        reply.RateLimits.Add(new RateLimitStatus
        {
            Kind = kind,
            Limit = rule.LimitTo,
            Remaining = outcome.Remaining,
            ResetMs = (long)outcome.Reset.TotalMilliseconds,
        });
        reply.Reservation = outcome.Reservation;
        if (outcome.Allowed)
        {
            return;
        }

        reply.Decision = AdmitDecision.RateLimited;
        if (outcome.RetryAfter is { } retryAfter)
        {
            reply.RetryAfterMs = (long)Math.Ceiling(retryAfter.TotalMilliseconds);
            reply.Message = $"Rate limit reached for rule '{rule.Id}': {rule.LimitTo} {rule.Unit.Name}. Retry after {Math.Ceiling(retryAfter.TotalSeconds):0} s.";
        }
        else
        {
            // Can never fit: waiting does not help, so no retry hint beyond a full window.
            reply.RetryAfterMs = (long)rule.Unit.Window.TotalMilliseconds;
            reply.Message = $"This request needs an estimated {outcome.Cost} tokens, more than rule '{rule.Id}' allows ({rule.LimitTo} {rule.Unit.Name}). Lower max_tokens or the prompt.";
        }

        PolicyLog.RateLimited(logger, request.RequestId, rule.Id);
    }

    private void ApplyBudget(AdmitRequest request, BudgetOutcome outcome, AdmitReply reply)
    {
        reply.BudgetReservation = outcome.Reservation;
        foreach (var standing in outcome.Budgets)
        {
            reply.Budgets.Add(new BudgetStatus
            {
                Rule = standing.Rule.Id,
                Enforced = standing.Enforced,
                LimitNanoUsd = standing.Rule.LimitNanoUsd,
                SpentNanoUsd = standing.SpentNanoUsd,
                ResetsAt = Timestamp.FromDateTimeOffset(standing.ResetsAt),
                CrossedThresholdPercent = standing.CrossedThresholdPercent,
                Exceeded = standing.Exceeded,
            });
            if (standing.CrossedThresholdPercent > 0)
            {
                PolicyLog.BudgetThresholdCrossed(logger, request.RequestId, standing.Rule.Id, standing.CrossedThresholdPercent);
            }

            // A soft budget never blocks: the crossing is recorded once, by the call that crossed it.
            if (!standing.Rule.Hard && standing.Exceeded && standing.SpentNanoUsd - outcome.CostNanoUsd <= standing.Rule.LimitNanoUsd && outcome.Blocked is null)
            {
                PolicyLog.SoftBudgetExceeded(logger, request.RequestId, standing.Rule.Id);
            }
        }

        if (outcome.Blocked is not { } blocked)
        {
            return;
        }

        var rule = blocked.Rule;
        reply.Decision = AdmitDecision.BudgetExceeded;
        reply.BudgetRule = rule.Id;
        reply.Message = string.Create(CultureInfo.InvariantCulture,
            $"Budget '{rule.Id}' exceeded: {rule.LimitUsd} USD per {rule.Period.Description}, {NanoUsd.ToUsd(blocked.SpentNanoUsd):0.######} USD spent or reserved, "
            + $"and this request may cost up to {NanoUsd.ToUsd(outcome.CostNanoUsd):0.######} USD. It resets at {blocked.ResetsAt:yyyy-MM-dd'T'HH:mm:ss'Z'}.");
        PolicyLog.BudgetExceeded(logger, request.RequestId, rule.Id);
    }

    // What every admission of a token needs from its record, built once per record. A record is immutable
    // and replaced whole when anything about the token changes (the cache tiers' own invalidation, and the
    // in-process tier lives a second), so keying on the instance needs no invalidation of its own.
    private static Derived DerivedOf(TokenRecord record) => s_derived.GetValue(record, static r => new Derived(IdentityOf(r), r.Subjects()));

    /// <summary>Who the token is, as the router and rules see it (a token from before identities: its own virtual account).</summary>
    /// <remarks>Shared by every reply for the record: protobuf only reads it to serialise, and nothing here changes it.</remarks>
    private static Identity IdentityOf(TokenRecord record)
    {
        var identity = new Identity
        {
            TokenId = record.Id.ToString(),
            TokenName = record.Name,
            Kind = record.Kind,
            User = record.User ?? "",
            VirtualAccount = record.VirtualAccountName ?? "",
        };
        identity.Teams.AddRange(record.Teams);
        return identity;
    }

    private sealed record Derived(Identity Identity, IReadOnlyList<string> Subjects);

    // The model comes from the client's body: cap what is echoed back.
    private static string Shorten(string model) => model.Length <= 200 ? model : model[..200] + "…";

    private AdmitReply Deny(AdmitRequest request, AdmitDecision decision, string message)
    {
        PolicyLog.AdmissionDenied(logger, request.RequestId, decision.ToString());
        return new AdmitReply { Decision = decision, Message = message };
    }
}
