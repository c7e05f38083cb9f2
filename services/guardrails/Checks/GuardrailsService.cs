using Gateway.Aspire.Guardrails.Grpc;
using Grpc.Core;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>
/// Content checks over gRPC. No rules exist yet, so every valid input is allowed unchanged; the call
/// path exists so that rules (PII, moderation, prompt injection) slot in without touching the router.
/// </summary>
public sealed class GuardrailsService(ILogger<GuardrailsService> logger) : Grpc.Guardrails.GuardrailsBase
{
    /// <inheritdoc />
    public override Task<CheckReply> CheckInput(CheckRequest request, ServerCallContext context)
    {
        if (request.Body.IsEmpty)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "body is required: the request body as the client sent it."));
        }

        GuardrailsLog.InputChecked(logger, request.RequestId, request.Model, request.Api, request.Body.Length, nameof(Verdict.Allow));
        return Task.FromResult(new CheckReply { Verdict = Verdict.Allow });
    }
}
