using System.Text;
using System.Text.Json;
using Gateway.Aspire.Guardrails.Bodies;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Guardrails.Moderation;
using Gateway.Aspire.Guardrails.Pii;
using Gateway.Aspire.Guardrails.Rules;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Google.Protobuf;
using Grpc.Core;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>
/// Content checks over gRPC. <c>CheckInput</c>, <c>CheckOutput</c> and <c>CheckStream</c> run the
/// <c>gateway-guardrails-config</c> rules that match the caller, model and metadata (one rules
/// snapshot per call); <c>Moderate</c> runs the built-in moderation classifier for the router's
/// /v1/moderations.
/// </summary>
/// <remarks>
/// Errors: a missing body or malformed JSON is <see cref="StatusCode.InvalidArgument"/>; a check
/// that fails in a <c>fail_closed</c> rule is <see cref="StatusCode.Internal"/> naming the guardrail
/// (the router answers 503); a check that fails in a <c>fail_open</c> rule is skipped and reported as a
/// finding with action <c>fail_open</c>.
/// </remarks>
internal sealed class GuardrailsService(
    LiveConfig<GuardrailRules> rules, GuardrailEvaluator evaluator, ModerationClassifier classifier, ILogger<GuardrailsService> logger)
    : Grpc.Guardrails.GuardrailsBase
{
    /// <summary>Most texts one Moderate call may carry.</summary>
    public const int MaxModerationInputs = 1_000;

    /// <summary>Most UTF-8 bytes, all texts together, one Moderate call may carry (1 MiB).</summary>
    public const int MaxModerationBytes = 1 << 20;

    private const string BlockedInputMessage = "The request was refused by the gateway's content policy.";
    private const string BlockedOutputMessage = "The answer was withheld by the gateway's content policy.";

    /// <inheritdoc />
    public override Task<CheckReply> CheckInput(CheckRequest request, ServerCallContext context)
    {
        if (request.Body.IsEmpty)
        {
            throw InvalidArgument("body is required: the request body as the client sent it.");
        }

        var matching = rules.Current.Matching(request.Subjects, request.Model, request.Metadata);
        var reply = new CheckReply { Verdict = Verdict.Allow, CheckOutput = matching.Any(rule => rule.Output.Count > 0) };
        if (matching.Any(rule => rule.Input.Count > 0))
        {
            var texts = ReadTexts(request.Body, request.Api, BodyDirection.Request);
            var session = PiiMaskSession.FromPlaceholders(new Dictionary<string, string>()); // the agreed API has no public constructor
            Check(reply, matching, BodyDirection.Request, texts, session, restoreSession: null, request.RequestId, BlockedInputMessage,
                new ExternalModerationScores(request.ExternalModeration), context);
            if (reply.Verdict == Verdict.Modify && matching.Any(rule => rule.Output.Any(check => check.Restore)))
            {
                foreach (var (placeholder, value) in session.Placeholders)
                {
                    reply.Placeholders[placeholder] = value;
                }
            }
        }

        GuardrailsLog.InputChecked(logger, request.RequestId, request.Model, request.Api, request.Body.Length, reply.Verdict.ToString());
        return Task.FromResult(reply);
    }

    /// <inheritdoc />
    public override Task<CheckReply> CheckOutput(CheckOutputRequest request, ServerCallContext context)
    {
        if (request.Body.IsEmpty)
        {
            throw InvalidArgument("body is required: the answer body as the provider sent it.");
        }

        var matching = rules.Current.Matching(request.Subjects, request.Model, request.Metadata);
        var reply = new CheckReply { Verdict = Verdict.Allow };
        if (matching.Any(rule => rule.Output.Count > 0))
        {
            var texts = ReadTexts(request.Body, request.Api, BodyDirection.Response);

            // Two sessions: new values the model wrote get fresh placeholders that stay masked; only
            // the request's own values (the placeholders passed in) are restored.
            Check(reply, matching, BodyDirection.Response, texts, PiiMaskSession.FromPlaceholders(request.Placeholders),
                PiiMaskSession.FromPlaceholders(request.Placeholders), request.RequestId, BlockedOutputMessage,
                new ExternalModerationScores(request.ExternalModeration), context);
        }

        GuardrailsLog.OutputChecked(logger, request.RequestId, request.Model, request.Api, request.Body.Length, reply.Verdict.ToString());
        return Task.FromResult(reply);
    }

    /// <inheritdoc />
    public override async Task CheckStream(IAsyncStreamReader<StreamChunk> requestStream, IServerStreamWriter<StreamVerdict> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!await requestStream.MoveNext(cancellationToken) || requestStream.Current.KindCase != StreamChunk.KindOneofCase.Context)
        {
            throw InvalidArgument("the first message of CheckStream must carry the request context.");
        }

        var request = requestStream.Current.Context;
        var matching = rules.Current.Matching(request.Subjects, request.Model, request.Metadata);
        var session = new StreamCheckSession(evaluator, matching, request.Placeholders, request.RequestId);
        var deltas = 0;
        try
        {
            while (await requestStream.MoveNext(cancellationToken))
            {
                var chunk = requestStream.Current;
                StreamVerdict verdict;
                if (chunk.KindCase == StreamChunk.KindOneofCase.Batch)
                {
                    deltas += chunk.Batch.Deltas.Count;
                    verdict = session.PushBatch(chunk.Batch, cancellationToken);
                }
                else if (chunk.KindCase == StreamChunk.KindOneofCase.Delta)
                {
                    deltas++;
                    verdict = session.Push(chunk.Delta, cancellationToken);
                }
                else
                {
                    throw InvalidArgument("only the first message of CheckStream carries the context; the rest are text deltas or batches of them.");
                }

                await responseStream.WriteAsync(verdict, cancellationToken);
                if (verdict.Verdict == Verdict.Block)
                {
                    GuardrailsLog.Blocked(logger, request.RequestId, verdict.Guardrail, verdict.Category);
                    GuardrailsLog.StreamChecked(logger, request.RequestId, request.Model, request.Api, deltas, nameof(Verdict.Block));
                    return;
                }
            }

            foreach (var verdict in session.Finish(cancellationToken))
            {
                await responseStream.WriteAsync(verdict, cancellationToken);
            }
        }
        catch (GuardrailFailedException e)
        {
            throw FailedClosed(e);
        }

        GuardrailsLog.StreamChecked(logger, request.RequestId, request.Model, request.Api, deltas, nameof(Verdict.Allow));
    }

    /// <inheritdoc />
    public override Task<ValidateConfigReply> ValidateConfig(ValidateConfigRequest request, ServerCallContext context)
    {
        try
        {
            var documents = ManifestOverlay.Build(request.Layers.Select(l => new ManifestLayer(l.Origin, l.Yaml)));
            return Task.FromResult(new ValidateConfigReply { Rules = GuardrailsConfigLoader.Read(documents).Rules.Count });
        }
        catch (ManifestException e)
        {
            throw InvalidArgument(e.Message);
        }
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

    /// <summary>Runs the checks and fills <paramref name="reply"/>: block, or modify with the rewritten body, plus findings.</summary>
    private void Check(
        CheckReply reply,
        IReadOnlyList<GuardrailRule> matching,
        BodyDirection direction,
        BodyTexts texts,
        PiiMaskSession maskSession,
        PiiMaskSession? restoreSession,
        string requestId,
        string blockedMessage,
        ExternalModerationScores external,
        ServerCallContext context)
    {
        var findings = new FindingsBuilder();
        GuardrailBlock? block;
        try
        {
            block = evaluator.Evaluate(matching, direction, texts, maskSession, restoreSession, findings, requestId, context.CancellationToken, external);
        }
        catch (GuardrailFailedException e)
        {
            throw FailedClosed(e);
        }

        if (block is null && external.Needed.Count > 0)
        {
            // A moderation model must see these texts first: no verdict yet, the router asks it and calls again.
            reply.Verdict = Verdict.Unspecified;
            reply.ModerationNeeded.Add(external.Needed);
            return;
        }

        findings.MoveTo(reply.Findings);
        if (block is not null)
        {
            GuardrailsLog.Blocked(logger, requestId, block.Guardrail, block.Category);
            reply.Verdict = Verdict.Block;
            reply.Guardrail = block.Guardrail;
            reply.Category = block.Category;
            reply.Message = blockedMessage;
        }
        else if (texts.Changed)
        {
            reply.Verdict = Verdict.Modify;
            reply.Body = UnsafeByteOperations.UnsafeWrap(texts.Write());
        }
    }

    private static BodyTexts ReadTexts(ByteString body, string api, BodyDirection direction)
    {
        try
        {
            return BodyTexts.Read(body.Memory, api, direction);
        }
        catch (JsonException e)
        {
            throw InvalidArgument($"body is not valid JSON (byte {e.BytePositionInLine}, line {e.LineNumber}).");
        }
    }

    private static RpcException FailedClosed(GuardrailFailedException e) =>
        new(new Status(StatusCode.Internal, $"{e.Message} The gateway refuses the call rather than skip the check."));

    private static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
