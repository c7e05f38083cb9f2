using System.Text;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Guardrails.Moderation;
using Grpc.Core;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>
/// Content checks over gRPC. No input rules exist yet, so every valid input is allowed unchanged; the
/// call path exists so that rules (PII, moderation, prompt injection) slot in without touching the
/// router. <c>Moderate</c> runs the built-in moderation classifier for the router's /v1/moderations.
/// </summary>
internal sealed class GuardrailsService(ModerationClassifier classifier, ILogger<GuardrailsService> logger) : Grpc.Guardrails.GuardrailsBase
{
    /// <summary>Most texts one Moderate call may carry.</summary>
    public const int MaxModerationInputs = 1_000;

    /// <summary>Most UTF-8 bytes, all texts together, one Moderate call may carry (1 MiB).</summary>
    public const int MaxModerationBytes = 1 << 20;

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

    /// <inheritdoc />
    public override Task<ModerateReply> Moderate(ModerateRequest request, ServerCallContext context)
    {
        if (request.Inputs.Count == 0)
        {
            throw InvalidArgument("inputs is required: at least one text to classify.");
        }

        if (request.Inputs.Count > MaxModerationInputs)
        {
            throw InvalidArgument($"inputs has {request.Inputs.Count} texts; at most {MaxModerationInputs} are allowed per call.");
        }

        long bytes = 0;
        foreach (var input in request.Inputs)
        {
            bytes += Encoding.UTF8.GetByteCount(input);
        }

        if (bytes > MaxModerationBytes)
        {
            throw InvalidArgument($"inputs total {bytes} bytes; at most {MaxModerationBytes} bytes (1 MiB) are allowed per call.");
        }

        var reply = new ModerateReply { Model = ModerationClassifier.ModelName };
        var flagged = 0;
        foreach (var input in request.Inputs)
        {
            var result = classifier.Classify(input, context.CancellationToken);
            var wire = new ModerationResult { Flagged = result.Flagged };
            for (var c = 0; c < ModerationCategories.Count; c++)
            {
                wire.Categories[ModerationCategories.Names[c]] = result.Categories[c];
                wire.CategoryScores[ModerationCategories.Names[c]] = result.Scores[c];
            }

            flagged += result.Flagged ? 1 : 0;
            reply.Results.Add(wire);
        }

        GuardrailsLog.Moderated(logger, request.RequestId, request.Inputs.Count, bytes, flagged);
        return Task.FromResult(reply);
    }

    private static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
