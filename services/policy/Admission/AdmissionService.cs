using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Grpc.Core;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>
/// The router's one policy round trip per request. A bad key or a denied model is a decision in
/// the reply, never an error; errors mean policy itself cannot answer (Unavailable).
/// </summary>
/// <remarks>
/// Steps: (1) cheap format check, so garbage never reaches a cache or database; (2) hash and look
/// the token up (<see cref="TokenLookup"/>: memory ≤ 1 s, Redis, PostgreSQL); (3) expiry against
/// the injected clock; (4) model access.
/// </remarks>
public sealed class AdmissionService(TokenLookup lookup, TimeProvider time, ILogger<AdmissionService> logger)
    : Grpc.Admission.AdmissionBase
{
    /// <summary>Message for unknown, malformed and revoked keys (OpenAI's wording; never echoes the key).</summary>
    public const string InvalidTokenMessage = "Incorrect API key provided.";

    /// <summary>Message for expired keys.</summary>
    public const string ExpiredTokenMessage = "The API key provided has expired.";

    /// <inheritdoc />
    public override async Task<AdmitReply> Admit(AdmitRequest request, ServerCallContext context)
    {
        // (1) Format first: empty or garbage costs no lookup.
        if (!TokenSecret.IsWellFormed(request.Token))
        {
            return Deny(request, AdmitDecision.InvalidToken, InvalidTokenMessage);
        }

        // (2) Memory, then Redis, then PostgreSQL.
        var record = await lookup.FindAsync(TokenSecret.Hash(request.Token), context.CancellationToken);
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
            Identity = new Identity { TokenId = record.Id.ToString(), TokenName = record.Name },
        };
        reply.AllowedModels.AddRange(record.Models);

        // (4) Model access, only when the caller named a model.
        if (request.Model.Length > 0 && !record.Allows(request.Model))
        {
            reply.Decision = AdmitDecision.ModelNotAllowed;
            reply.Message = $"This API key is not allowed to use the model '{Shorten(request.Model)}'.";
            PolicyLog.AdmissionDenied(logger, request.RequestId, nameof(AdmitDecision.ModelNotAllowed));
        }

        return reply;
    }

    // The model comes from the client's body: cap what is echoed back.
    private static string Shorten(string model) => model.Length <= 200 ? model : model[..200] + "…";

    private AdmitReply Deny(AdmitRequest request, AdmitDecision decision, string message)
    {
        PolicyLog.AdmissionDenied(logger, request.RequestId, decision.ToString());
        return new AdmitReply { Decision = decision, Message = message };
    }
}
