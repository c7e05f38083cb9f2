using System.Buffers;
using System.Net.Http.Headers;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Budgets;
using Gateway.Aspire.Router.Caching;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Providers;
using Gateway.Aspire.Router.Providers.Streaming;
using Gateway.Aspire.Router.RateLimiting;
using Gateway.Aspire.Router.Routing;
using Gateway.Aspire.Router.Usage;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using WireFormat = Gateway.Aspire.Router.Providers.WireFormat;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>Forwards a model request (chat, messages, completions, embeddings) to the provider of the requested model.</summary>
internal interface IRequestForwarder
{
    /// <summary>Handles the whole exchange for <paramref name="api"/>, writing the response itself (it may be a stream).</summary>
    Task ForwardAsync(HttpContext context, InboundApi api);
}

/// <summary>
/// The hot path, modelled on YARP's HttpForwarder: one pass, pooled buffers, bytes relayed as they arrive.
/// </summary>
/// <remarks>
/// Steps, marked in the body:
/// (1) request id: the client's <c>x-request-id</c> if sane, else a new GUID v7; echoed back.
/// (2) key present (bearer or <c>x-api-key</c>), else 401; the <c>x-gateway-metadata</c> and cache headers
///     (<c>x-gateway-cache-ttl</c>, <c>Cache-Control</c>) parsed (400 after auth).
/// (3) body read up to the size limit (413) and parsed once for model/stream/include_usage/max_tokens (400);
///     a body without a model gets a rule's task default (<c>default_model</c>) when its metadata matches.
/// (4) policy Admit, one round trip with the model, metadata and token estimate: 401 invalid key,
///     403 model not allowed, 429 rate limited (OpenAI's x-ratelimit-* headers on every answer a
///     rule applied to) or over a hard budget (the call's maximum cost, priced from the catalog, is
///     reserved); then a load-balancing rule plans the targets (<see cref="RoutePlanner"/>),
///     or the catalog lookup: 404 unknown model, 400 when the model does not
///     serve this API or the request asks more output than it allows. A body or metadata that
///     failed (2)/(3) is still authenticated first, so a bad key always gets 401. From here on the
///     answer names the model and provider that serve it (<c>x-gateway-model</c>, <c>x-gateway-provider</c>).
/// (5) guardrails CheckInput: allow, block (400) or modify (forward the replacement body).
/// (5') response cache (<see cref="ResponseCache"/>), when the model, rule or request turns it on: a hit
///     is replayed and billed at zero (<c>x-gateway-cache: HIT</c>); a miss tees the relay in (8) into a
///     capture, stored as the final successful attempt's last bytes go out.
/// (6) upstream request: same format on both sides: the model spliced to the provider model and
///     <c>include_usage</c> injected into OpenAI streams so they can be billed; across formats the
///     body is translated (<see cref="FormatBridge"/>; 400 when it cannot be expressed). The
///     account's key and headers added.
/// (7) send (connect, total and idle timeouts of the model or target); connection failures 502,
///     timeout 504, upstream error statuses mapped (UpstreamErrors) and written in the client's format.
/// (8) relay: a JSON body in one write with its usage read (translated first across formats); a
///     stream event by event, flushed after each read: OpenAI to OpenAI byte for byte with the
///     injected usage-only chunk dropped, otherwise through a stream translator; the timeout
///     resets on every read. A stream that breaks, stalls or ends without its terminating event
///     after the first byte ends with an error event in the client's format.
/// (6')-(8') a routed request runs (6)-(8) once per attempt (<c>AttemptAsync</c>) inside the target's
///     circuit breaker: retries on the same target, then fallback to the next candidate, only
///     while nothing has reached the client; each attempt is its own ledger record.
/// (9) after the response completed: usage the provider did not report (a server ignoring
///     include_usage, a stream cut off by either side) is counted from what was sent with
///     Microsoft.ML.Tokenizers and marked estimated; the usage record goes to the ledger queue, and
///     token and budget reservations are settled to the actual usage and cost (queued, and sent to
///     policy in batches off the response path: Settlement/SettlementShipper).
/// </remarks>
internal sealed class RequestForwarder(
    LiveConfig<RouterConfig> live,
    Admission.AdmissionClient admission,
    Guardrails.Grpc.Guardrails.GuardrailsClient guardrails,
    ExternalModerationClient externalModeration,
    UpstreamInvoker upstream,
    UsageQueue usageQueue,
    Settlement.SettlementQueue settlements,
    TokenEstimator estimator,
    RoutePlanner planner,
    TargetHealthRegistry health,
    LatencyTracker latency,
    StickySessions sticky,
    RoutingMetrics metrics,
    Telemetry.RequestTelemetry telemetry,
    ResponseCache responseCache,
    IOptions<RouterOptions> options,
    TimeProvider time,
    ILogger<RequestForwarder> logger) : IRequestForwarder
{
    private const int StatusClientClosedRequest = 499;
    private const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>How long a broken stream's error event gets to reach the socket before the connection is cut.</summary>
    private static readonly TimeSpan ErrorEventDrainTime = TimeSpan.FromMilliseconds(100);
    private static readonly MediaTypeWithQualityHeaderValue s_eventStream = new("text/event-stream");

    /// <inheritdoc />
    public async Task ForwardAsync(HttpContext context, InboundApi api)
    {
        var startTimestamp = time.GetTimestamp();
        var startedAt = time.GetUtcNow();
        var request = context.Request;
        var response = context.Response;
        var aborted = context.RequestAborted;
        var settings = options.Value;
        // One read of the live configuration: this request keeps its catalog and routes to the end, even across a reload.
        var (catalog, routes) = live.Current;

        // (1) Request id.
        var requestId = RequestIds.FromHeaderOrNew(request.Headers["x-request-id"].ToString(), time);
        response.Headers["x-request-id"] = requestId;

        // (2) Key.
        var token = ClientKey.From(request);
        if (token is null)
        {
            await ClientErrors.WriteAsync(api.Format, response, 401, OpenAiError.Authentication, "invalid_api_key",
                "Missing API key: send 'Authorization: Bearer <token>' or 'x-api-key: <token>'.");
            return;
        }

        var metadataValid = GatewayMetadata.TryParse(request.Headers[GatewayMetadata.HeaderName].ToString(), out var metadata, out var metadataError);
        var cacheHeadersValid = CacheRequestHeaders.TryParse(request.Headers, out var cacheHeaders, out var cacheHeadersError);

        Identity? identity = null;
        CatalogModel? model = null;
        var reservation = "";
        var budgetReservation = "";
        ChatRequestInfo info = default;
        PooledBuffer? body = null;
        PooledBuffer? upstreamBody = null;
        StreamTranscript? transcript = null;
        MultipartForm? form = null;
        ResponseCapture? capture = null;
        var forwardBody = ReadOnlyMemory<byte>.Empty;
        RoutePlan? plan = null;
        var attemptId = requestId;
        var parentId = "";
        var attemptStartTimestamp = startTimestamp;
        System.Text.StringBuilder? attemptsLog = null;
        CheckOutputRequest? outputCheck = null;
        // What guardrails found (flags, masks, blocks) or skipped by on_error; goes with the final ledger record.
        var guardrailFindings = new List<GuardrailFinding>();
        try
        {
            // (3) Body: read once, parse once.
            body = await RequestBodyReader.ReadAsync(request, settings.MaxRequestBodyBytes, aborted);
            string? bodyError;
            if (body is null)
            {
                bodyError = $"The request body exceeds the limit of {settings.MaxRequestBodyBytes} bytes.";
            }
            else if (api.Multipart)
            {
                (form, bodyError) = await MultipartForm.ParseAsync(body.Memory, request.ContentType, aborted);
                bodyError ??= form!.Model is not { Length: > 0 } formModel ? "'model' is required."
                    : !form.HasFile("file") ? "'file' is required: the audio to transcribe."
                    : null;
                info = new ChatRequestInfo { Model = form?.Model ?? "" };
            }
            else
            {
                bodyError = ChatRequestInspector.TryInspect(body.Span, out info, out var parseError) ? api.MissingFieldError(info.Fields) : parseError;
                if (bodyError == ChatRequestInspector.ModelRequiredError && metadataValid && routes.DefaultModelFor(metadata) is { } taskModel)
                {
                    // A task default: the caller named a task (x-gateway-metadata) instead of a model.
                    var withModel = TaskDefaultModel.Insert(body.Span, taskModel);
                    body.Dispose();
                    body = withModel;
                    bodyError = ChatRequestInspector.TryInspect(body.Span, out info, out parseError) ? api.MissingFieldError(info.Fields) : parseError;
                }
            }

            // (4) Admission; a bad body is authenticated first so a bad key always reads 401.
            // Only a valid request counts against rate limits; the prompt estimate is ~4 bytes a token
            // of the whole body (an overestimate on purpose: it is settled to actual usage).
            var countable = bodyError is null && metadataValid && cacheHeadersValid;
            var admitRequest = new AdmitRequest { Token = token, Model = countable ? info.Model : "", RequestId = requestId };
            if (countable)
            {
                admitRequest.Metadata.Add(metadata);
                admitRequest.EstimatedPromptTokens = (body!.Length + 3) / 4;
                var priced = catalog.TryResolve(info.Model, out var declared);
                admitRequest.MaxTokens = info.MaxTokens ?? (priced ? declared!.Model.DefaultMaxTokens ?? declared.Model.MaxTokens : null) ?? 0;
                admitRequest.Choices = info.Choices;
                // Budgets reserve the most the call can cost (n completions of max_tokens each); settled to the actual cost in (9).
                // A virtual model is priced at its dearest target: which one serves is decided after admission.
                admitRequest.MaxCostNanoUsd = priced
                    ? RequestCost.MaxNanoUsd(declared!, admitRequest.EstimatedPromptTokens, admitRequest.MaxTokens, info.Choices)
                    : MaxTargetCost(routes.TargetModelsOf(info.Model), admitRequest.EstimatedPromptTokens, info.MaxTokens, info.Choices);
            }

            var admit = await AdmitAsync(admitRequest, settings, aborted);
            if (admit is null)
            {
                await ClientErrors.WriteAsync(api.Format, response, 503, OpenAiError.ServiceUnavailable, "policy_unavailable", "The gateway cannot check keys right now; retry shortly.");
                return;
            }

            if (admit.Decision == AdmitDecision.InvalidToken)
            {
                await ClientErrors.WriteAsync(api.Format, response, 401, OpenAiError.Authentication, "invalid_api_key", NonEmpty(admit.Message, "Incorrect API key provided."));
                return;
            }

            if (!metadataValid)
            {
                await ClientErrors.WriteAsync(api.Format, response, 400, OpenAiError.InvalidRequest, "invalid_metadata", metadataError);
                return;
            }

            if (!cacheHeadersValid)
            {
                await ClientErrors.WriteAsync(api.Format, response, 400, OpenAiError.InvalidRequest, CacheRequestHeaders.InvalidTtlCode, cacheHeadersError);
                return;
            }

            if (bodyError is not null)
            {
                await ClientErrors.WriteAsync(api.Format, response, body is null ? 413 : 400, OpenAiError.InvalidRequest, body is null ? "request_too_large" : "invalid_body", bodyError);
                return;
            }

            if (admit.Decision == AdmitDecision.ModelNotAllowed)
            {
                await ClientErrors.WriteAsync(api.Format, response, 403, OpenAiError.Permission, "model_not_allowed",
                    NonEmpty(admit.Message, $"This key may not use model '{info.Model}'."), "model");
                return;
            }

            RateLimitHeaders.Write(response, admit);
            BudgetHeaders.Write(response, admit);
            reservation = admit.Reservation;
            budgetReservation = admit.BudgetReservation;
            if (admit.Decision == AdmitDecision.RateLimited)
            {
                telemetry.Refused(info.Model, 429, budget: false);
                await ClientErrors.WriteAsync(api.Format, response, 429, OpenAiError.RateLimit, "rate_limit_exceeded",
                    NonEmpty(admit.Message, $"Rate limit reached for rule '{admit.RateLimitRule}'."));
                return;
            }

            if (admit.Decision == AdmitDecision.BudgetExceeded)
            {
                telemetry.Refused(info.Model, 429, budget: true);
                await BudgetErrors.WriteAsync(api.Format, response, admit);
                return;
            }

            if (admit.Decision != AdmitDecision.Allowed)
            {
                await ClientErrors.WriteAsync(api.Format, response, 503, OpenAiError.ServiceUnavailable, "policy_unavailable", "The gateway could not decide on this request; retry shortly.");
                return;
            }

            identity = admit.Identity ?? new Identity();
            // A load-balancing rule for this model and caller plans the targets; a plain catalog model
            // no rule mentions costs one dictionary miss here.
            if (routes.Match(info.Model, identity, metadata) is { } rule)
            {
                plan = await planner.PlanAsync(rule, api.ModelType, request.Headers, metadata);
                model = plan.Candidates.Count > 0 ? plan.Candidates[0].Model : null;
                if (model is null)
                {
                    Settle(0, 0);
                    await ClientErrors.WriteAsync(api.Format, response, 400, OpenAiError.InvalidRequest, "model_not_supported",
                        $"No target of rule '{rule.Rule.Id}' serves {api.Path}.", "model");
                    return;
                }
            }
            else if (!catalog.TryResolve(info.Model, out model))
            {
                Settle(0, 0);
                await ClientErrors.WriteAsync(api.Format, response, 404, OpenAiError.InvalidRequest, "model_not_found",
                    $"The model '{info.Model}' does not exist. Models are named '<account>/<model>' or are virtual models of the gateway's load-balancing rules; GET /v1/models lists them.", "model");
                return;
            }

            response.Headers["x-gateway-model"] = model.Id;
            response.Headers["x-gateway-provider"] = model.Account.Provider;
            telemetry.Started(requestId, info.Model, identity, info.Stream);
            // A plan answers 400 only when none of its candidates can serve the request; the loop skips those that cannot.
            if (UnservableReason(api, model, info) is { } unservable && (plan is null || plan.Candidates.All(c => UnservableReason(api, c.Model, info) is not null)))
            {
                await Fail(400, OpenAiError.InvalidRequest, unservable.Code, unservable.Message, unservable.Param);
                return;
            }

            // (5) Guardrails on the input.
            // Skipped (no round trip) unless the configuration has guardrails rules or Router:CheckInputGuardrails says otherwise.
            forwardBody = body!.Memory;
            if ((settings.CheckInputGuardrails ?? catalog.Config.HasGuardrailsRules) && form is null)
            {
                CheckReply check;
                var checkRequest = new CheckRequest
                {
                    RequestId = requestId,
                    TokenId = identity.TokenId,
                    Model = model.Id,
                    Api = api.Path,
                    // No copy: the buffer outlives the call.
                    Body = UnsafeByteOperations.UnsafeWrap(forwardBody),
                };
                GuardrailSubjects.AddTo(checkRequest.Subjects, identity);
                checkRequest.Metadata.Add(metadata);
                try
                {
                    check = await guardrails.CheckInputAsync(checkRequest, deadline: DateTime.UtcNow + settings.GuardrailsTimeout, cancellationToken: aborted);
                    if (check.ModerationNeeded.Count > 0)
                    {
                        // A rule moderates with a catalog model: the router asks it, then guardrails decides.
                        checkRequest.ExternalModeration.Add(await externalModeration.ClassifyAsync(check.ModerationNeeded, requestId, aborted));
                        check = await guardrails.CheckInputAsync(checkRequest, deadline: DateTime.UtcNow + settings.GuardrailsTimeout, cancellationToken: aborted);
                    }
                }
                catch (RpcException e) when (!aborted.IsCancellationRequested)
                {
                    // The matching rules' on_error decide: one that fails closed refuses (503); when all
                    // fail open the request goes on unchecked (the answer is still checked if a rule asks).
                    var outage = OnGuardrailsError(e, GuardrailStage.Input, checkRequest.Subjects, model.Id);
                    if (!outage.FailedOpen)
                    {
                        await Fail(503, OpenAiError.ServiceUnavailable, "guardrails_unavailable", outage.Message(GuardrailStage.Input));
                        return;
                    }

                    check = new CheckReply
                    {
                        Verdict = Verdict.Allow,
                        CheckOutput = GuardrailsOutage.AnyOutputRule(catalog.Config.GuardrailRules, checkRequest.Subjects, model.Id, metadata),
                    };
                }

                GuardrailsOutage.AddFindings(guardrailFindings, check.Findings, GuardrailStage.Input);

                if (check.Verdict == Verdict.Block)
                {
                    RouterLog.GuardrailBlocked(logger, requestId, check.Guardrail, check.Category);
                    await Fail(400, OpenAiError.InvalidRequest, "guardrail_blocked",
                        $"Blocked by guardrail '{check.Guardrail}' (category '{check.Category}'). {check.Message}".TrimEnd());
                    return;
                }

                if (check.Verdict == Verdict.Modify)
                {
                    forwardBody = check.Body.Memory;
                    if (!ChatRequestInspector.TryInspect(forwardBody.Span, out var modified, out _) || modified.Model != info.Model || modified.Stream != info.Stream)
                    {
                        await Fail(503, OpenAiError.ServiceUnavailable, "guardrails_invalid_body", "A guardrail produced an invalid request body.");
                        return;
                    }

                    info = modified;
                }

                if (check.CheckOutput)
                {
                    // The answer is checked too (step 8), with the placeholders that restore masked values.
                    outputCheck = new CheckOutputRequest { RequestId = requestId, TokenId = identity.TokenId, Model = model.Id, Api = api.Path };
                    outputCheck.Subjects.Add(checkRequest.Subjects);
                    outputCheck.Metadata.Add(metadata);
                    outputCheck.Placeholders.Add(check.Placeholders);
                }
            }

            // (5') Response cache, keyed on the requested model (a virtual model's name): a hit is replayed
            // and billed at zero; a miss captures the final successful attempt's answer to store it.
            // Checked in this order so a request the cache is off for allocates nothing here. Not when
            // output guardrails apply: a hit would skip them, and a restored answer holds this
            // request's own personal data, which must never be replayed to another request.
            if (outputCheck is null
                && cacheHeaders.Resolve(CacheConfigOf(catalog, plan, model, info.Model)) is { Applies: true } cachePlan
                && CacheTenant.Of(identity) is { } tenant
                && responseCache.Prepare(cachePlan, tenant, api, info, forwardBody.Span,
                    api.Format == WireFormat.Anthropic ? request.Headers["anthropic-beta"].ToString() : null) is { } cacheLookup)
            {
                response.Headers[CacheRequestHeaders.StatusHeader] = "MISS";
                if (await responseCache.TryGetAsync(cacheLookup, aborted) is { } hit)
                {
                    await CachedResponseWriter.WriteAsync(context, hit, aborted);
                    Settle(0, 0); // no provider tokens or money were spent
                    metrics.CacheHit();
                    Answered(hit.StatusCode, "", hit.Usage, 0, cached: true);
                    var hitRecord = Attributed(CacheHitRecord.Create(hit, requestId, startedAt, identity.TokenId, identity.TokenName, info.Model,
                        time.GetElapsedTime(startTimestamp).TotalMilliseconds, 0));
                    hitRecord.Guardrails.Add(guardrailFindings);
                    await usageQueue.EnqueueAsync(hitRecord);
                    return;
                }

                // One capture serves every attempt: only bytes that reached the client enter it, and
                // an attempt that sent any is the last one.
                capture = responseCache.BeginCapture(cacheLookup);
            }

            // (6)-(8) Attempts: the named model once, or the plan's candidates in order, each with its retries.
            if (plan is null)
            {
                var outcome = await AttemptAsync(null);
                if (!outcome.Started)
                {
                    await FailAttemptAsync(outcome, final: true);
                }

                return;
            }

            await RunPlanAsync(plan);
        }
        catch (Exception e) when (aborted.IsCancellationRequested && e is OperationCanceledException or IOException or RpcException or ConnectionResetException)
        {
            // (9') The client went away: stop quietly, but bill what was admitted.
            RouterLog.ClientDisconnected(logger, requestId);
            if (model is not null)
            {
                // What was sent before the client left is billed: the provider generated (and bills) it.
                var usage = transcript is null || !api.EstimatesUsage ? default : Estimate(default, transcript.Bytes, stream: true, cutOff: true);
                await RecordAsync(StatusClientClosedRequest, "client_closed_request", usage, 0);
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (!response.HasStarted)
        {
            // Malformed framing (bad chunked encoding, Kestrel limits): the client's fault, never a 500.
            await ClientErrors.WriteAsync(api.Format, response, e.StatusCode, OpenAiError.InvalidRequest, "invalid_body", "The request body could not be read.");
        }
        finally
        {
            body?.Dispose();
            upstreamBody?.Dispose();
            transcript?.Dispose();
            capture?.Dispose();
        }

        async Task Fail(int status, string type, string code, string message, string? param = null)
        {
            await ClientErrors.WriteAsync(api.Format, response, status, type, code, message, param);
            await response.CompleteAsync();
            await RecordAsync(status, code, default, 0);
        }

        // (6')-(8') The loop over a plan's candidates. Retries stay on a target while its status is in
        // retry_config.on_status_codes (or it was unreachable) and attempts remain; then the next
        // candidate is tried when the status is in the target's fallback_status_codes or it never
        // answered. Nothing of a failed attempt has reached the client, so moving on is safe; an
        // attempt that started the answer ends the loop whatever happens to it.
        async Task RunPlanAsync(RoutePlan plan)
        {
            AttemptOutcome last = default;
            RouteTarget? previous = null;
            var count = 0;
            attemptsLog = new System.Text.StringBuilder();
            foreach (var target in plan.Candidates)
            {
                var targetHealth = health[target.Id];
                if (!targetHealth.IsAvailable || UnservableReason(api, target.Model, info) is not null)
                {
                    continue;
                }

                if (previous is not null)
                {
                    health[previous.Id].CountFallback();
                    metrics.FellBack(previous.Id);
                }

                var retry = target.Config.Retry;
                for (var tryNumber = 0; tryNumber <= retry.Attempts; tryNumber++)
                {
                    if (tryNumber > 0)
                    {
                        targetHealth.CountRetry();
                        metrics.Retried(target.Id);
                        await Task.Delay(retry.Delay, time, aborted);
                    }

                    count++;
                    attemptId = count == 1 ? requestId : $"{requestId}-a{count}";
                    parentId = count == 1 ? "" : requestId;
                    model = target.Model;
                    var routed = target;
                    var result = await targetHealth.ExecuteAsync(() => AttemptAsync(routed), aborted);
                    if (result is not { } outcome)
                    {
                        count--; // the open circuit skipped it: no attempt was made
                        break;
                    }

                    metrics.Attempted(target.Id, outcome.Kind);
                    previous = target;
                    last = outcome;
                    if (outcome.Started)
                    {
                        if (plan.StickyKey is not null && outcome.Kind == AttemptKind.BrokeMidStream)
                        {
                            sticky.Break(plan.StickyKey);
                        }

                        return;
                    }

                    if (plan.StickyKey is not null && outcome.CountsAsFailure)
                    {
                        sticky.Break(plan.StickyKey);
                    }

                    if (outcome.RetryAfter is { } retryAfter)
                    {
                        targetHealth.CoolDown(retryAfter);
                    }

                    var status = outcome.UpstreamStatus;
                    var canFallBack = outcome.Kind == AttemptKind.Unservable || status == 0 || target.Config.FallbackStatusCodes.Contains(status);
                    // A timeout already cost its full wait: it moves on rather than waiting again.
                    var retryable = outcome.Kind == AttemptKind.Failed && tryNumber < retry.Attempts && targetHealth.IsAvailable
                        && (status == 0 ? !outcome.TimedOut : retry.OnStatusCodes.Contains(status));
                    if (!retryable && !canFallBack)
                    {
                        await FailAttemptAsync(outcome, final: true);
                        return;
                    }

                    await FailAttemptAsync(outcome, final: false);
                    if (!retryable)
                    {
                        break;
                    }
                }
            }

            if (count == 0)
            {
                Settle(0, 0);
                var waits = plan.Candidates.Select(t => health[t.Id].CoolingDownUntil).OfType<DateTimeOffset>().ToList();
                if (waits.Count > 0)
                {
                    response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling((waits.Min() - time.GetUtcNow()).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                await ClientErrors.WriteAsync(api.Format, response, 503, OpenAiError.ServiceUnavailable, "no_healthy_target",
                    $"No target of rule '{plan.Rule.Rule.Id}' can take requests right now (circuits open or rate limited upstream); retry shortly.");
                Answered(503, "no_healthy_target");
                return;
            }

            await WriteFailureAsync(last);
        }

        // Records a failed attempt (its own ledger row); a final one is also written to the client first.
        async Task FailAttemptAsync(AttemptOutcome outcome, bool final)
        {
            var error = outcome.Error!.Value;
            AppendAttempt(error.Status, outcome.UpstreamStatus);
            if (final)
            {
                await WriteFailureAsync(outcome);
            }

            await RecordAsync(error.Status, error.ErrorType, default, 0, final: false);
        }

        // The client's answer when no attempt succeeded: the last failure, with the upstream's rate-limit headers.
        async Task WriteFailureAsync(AttemptOutcome outcome)
        {
            var error = outcome.Error!.Value;
            if (attemptsLog is not null)
            {
                response.Headers["x-gateway-attempts"] = attemptsLog.ToString();
            }

            foreach (var (name, values) in outcome.Headers ?? [])
            {
                response.Headers[name] = values;
            }

            var body = ClientErrors.Render(api.Format, error.Status, error.Body);
            response.StatusCode = error.Status;
            response.ContentType = "application/json";
            response.ContentLength = body.Length;
            await response.Body.WriteAsync(body, aborted);
            await response.CompleteAsync();
            Settle(0, 0);
            Answered(error.Status, error.ErrorType);
        }

        void AppendAttempt(int status, int upstreamStatus)
        {
            if (attemptsLog is not null)
            {
                attemptsLog.Append(attemptsLog.Length == 0 ? "" : ", ").Append(model!.Id).Append(' ')
                    .Append(upstreamStatus > 0 ? upstreamStatus : status);
            }
        }

        // One upstream attempt against `model` (the named model, or `target`'s): builds the upstream
        // request, sends it and relays the answer. Failures before the first byte reaches the client
        // are returned, not written, so the caller may retry or fall back.
        // Pooled builder: the state machine of this per-request call is reused rather than allocated.
        [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
        async ValueTask<AttemptOutcome> AttemptAsync(RouteTarget? target)
        {
            var attemptModel = model!;
            var attemptStart = attemptId == requestId ? startTimestamp : time.GetTimestamp();
            attemptStartTimestamp = attemptStart;
            upstreamBody?.Dispose();
            upstreamBody = null;

            // (6) Upstream request: splice when the formats match, translate when they differ.
            ReadOnlyMemory<byte> upstreamPayload;
            Uri upstreamUri;
            try
            {
                if (form is not null)
                {
                    upstreamPayload = default;
                    upstreamUri = attemptModel.ApiUri(api.UpstreamPath!);
                }
                else if (api.UpstreamPath is { } path)
                {
                    upstreamBody = ChatRequestRewriter.Rewrite(forwardBody.Span, info, attemptModel.ProviderModelJson, injectIncludeUsage: info.Stream && info.IncludeUsage != true);
                    upstreamPayload = upstreamBody.Memory;
                    upstreamUri = attemptModel.ApiUri(path);
                }
                else
                {
                    upstreamPayload = FormatBridge.CreateRequest(api.Format, forwardBody, info, attemptModel, out upstreamBody);
                    upstreamUri = attemptModel.ChatUri(info.Stream);
                }
            }
            catch (TranslationException e)
            {
                return new AttemptOutcome(AttemptKind.Unservable, Error: new MappedError(400, "unsupported_for_provider",
                    OpenAiError.Serialize(OpenAiError.InvalidRequest, "unsupported_for_provider", e.Message, e.Param)));
            }

            using var upstreamRequest = new HttpRequestMessage(HttpMethod.Post, upstreamUri)
            {
                Content = form?.ToContent(attemptModel.Model.ProviderModelName) ?? new ReadOnlyMemoryContent(upstreamPayload),
            };
            if (form is null)
            {
                upstreamRequest.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            }

            foreach (var (name, value) in attemptModel.Headers)
            {
                upstreamRequest.Headers.TryAddWithoutValidation(name, value);
            }

            if (target?.Config.HeadersOverride is { } overrides)
            {
                foreach (var (name, value) in overrides.Set)
                {
                    upstreamRequest.Headers.Remove(name);
                    upstreamRequest.Headers.TryAddWithoutValidation(name, value);
                }

                foreach (var name in overrides.Remove)
                {
                    upstreamRequest.Headers.Remove(name);
                }
            }

            if (api.Format == WireFormat.Anthropic && attemptModel.Format == WireFormat.Anthropic && request.Headers["anthropic-beta"].ToString() is { Length: > 0 } beta)
            {
                // Anthropic clients opt into features (prompt caching, long context) this way; the body relayed as it is needs them.
                upstreamRequest.Headers.TryAddWithoutValidation("anthropic-beta", beta);
            }

            if (info.Stream)
            {
                upstreamRequest.Headers.Accept.Add(s_eventStream);
            }

            // (7) Send. The idle timeout first bounds the wait for headers, then each silence in the
            // stream; the total timeout, when set, bounds the whole attempt; the connect timeout is
            // applied by the invoker when it opens a connection.
            var timeouts = target?.Config.Timeouts ?? TargetTimeouts.None;
            var timeout = timeouts.StreamIdle ?? attemptModel.Model.Timeout ?? settings.UpstreamTimeout;
            if ((timeouts.Connect ?? attemptModel.Model.ConnectTimeout) is { } connectTimeout)
            {
                upstreamRequest.Options.Set(UpstreamInvoker.ConnectTimeout, connectTimeout);
            }

            using var timeoutSource = new CancellationTokenSource(timeout, time);
            using var totalSource = (timeouts.Total ?? attemptModel.Model.RequestTimeout) is { } total ? new CancellationTokenSource(total, time) : null;
            using var linked = totalSource is null
                ? CancellationTokenSource.CreateLinkedTokenSource(aborted, timeoutSource.Token)
                : CancellationTokenSource.CreateLinkedTokenSource(aborted, timeoutSource.Token, totalSource.Token);
            HttpResponseMessage upstreamResponse;
            try
            {
                upstreamResponse = await upstream.Invoker.SendAsync(upstreamRequest, linked.Token);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
            {
                RouterLog.UpstreamTimeout(logger, attemptModel.Account.Name, attemptId);
                return new AttemptOutcome(AttemptKind.Failed, Error: UpstreamErrors.Timeout(attemptModel.Account.Name), TimedOut: true);
            }
            catch (HttpRequestException e) when (!aborted.IsCancellationRequested)
            {
                RouterLog.UpstreamUnreachable(logger, attemptModel.Account.Name, attemptId, e.HttpRequestError);
                return new AttemptOutcome(AttemptKind.Failed, Error: UpstreamErrors.Unreachable(attemptModel.Account.Name));
            }

            using (upstreamResponse)
            {
                var status = (int)upstreamResponse.StatusCode;
                if (status is < 200 or >= 300)
                {
                    RouterLog.UpstreamError(logger, attemptModel.Account.Name, status, attemptId);
                    PooledBuffer errorBody;
                    try
                    {
                        errorBody = await ReadBodyAsync(upstreamResponse.Content, MaxErrorBodyBytes, linked.Token);
                    }
                    catch (Exception e) when (!aborted.IsCancellationRequested && e is OperationCanceledException or IOException or HttpRequestException)
                    {
                        errorBody = new PooledBuffer(0);
                    }

                    using (errorBody)
                    {
                        var mapped = UpstreamErrors.FromStatus(upstreamResponse.StatusCode, upstreamResponse.Content.Headers.ContentType?.MediaType, errorBody.Span, attemptModel.Account.Name, attemptModel.Format);
                        KeyValuePair<string, string[]>[]? headers = null;
                        TimeSpan? retryAfter = null;
                        if (mapped.Status == 429)
                        {
                            headers = RateLimitHeadersOf(upstreamResponse);
                            retryAfter = RetryAfterOf(upstreamResponse, time.GetUtcNow());
                            if (attemptModel.Format == WireFormat.Gemini && retryAfter is null
                                && Providers.Gemini.GeminiErrors.RetryDelay(errorBody.Span) is { } delay)
                            {
                                // Clients and SDKs honour Retry-After, not Google's RetryInfo detail.
                                retryAfter = delay;
                                headers = [.. headers, KeyValuePair.Create("Retry-After", new[] { ((long)Math.Ceiling(delay.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) })];
                            }
                        }

                        // 401/403 mean the gateway's provider key is wrong (mapped to 502): the target is broken, not the request.
                        var kind = status >= 500 || status is 401 or 403 or 408 or 429 ? AttemptKind.Failed : AttemptKind.Rejected;
                        return new AttemptOutcome(kind, status, mapped, retryAfter, headers);
                    }
                }

                // (8) Relay.
                if (attemptsLog is not null)
                {
                    AppendAttempt(status, status);
                    response.Headers["x-gateway-attempts"] = attemptsLog.ToString();
                }

                response.Headers["x-gateway-model"] = attemptModel.Id;
                response.Headers["x-gateway-provider"] = attemptModel.Account.Provider;
                if (target is not null && plan?.StickyKey is { } stickyKey)
                {
                    // Bound before the client hears back, so its next request finds the binding on any replica.
                    await sticky.BindAsync(stickyKey, target.Id, plan.Rule.Rule.Sticky!.Ttl);
                }

                var isStream = upstreamResponse.Content.Headers.ContentType?.MediaType == "text/event-stream";
                var created = time.GetUtcNow().ToUnixTimeSeconds();
                if (!isStream)
                {
                    PooledBuffer completion;
                    try
                    {
                        completion = await ReadBodyAsync(upstreamResponse.Content, int.MaxValue, linked.Token);
                    }
                    catch (Exception e) when (!aborted.IsCancellationRequested && e is OperationCanceledException or IOException or HttpRequestException)
                    {
                        RouterLog.UpstreamStreamBroken(logger, attemptModel.Account.Name, attemptId, e);
                        return new AttemptOutcome(AttemptKind.Failed, Error: e is OperationCanceledException
                            ? UpstreamErrors.Timeout(attemptModel.Account.Name)
                            : UpstreamErrors.Unreachable(attemptModel.Account.Name), TimedOut: e is OperationCanceledException);
                    }

                    using (completion)
                    {
                        ReadOnlyMemory<byte> answer;
                        TokenUsage usage;
                        try
                        {
                            // Relayed APIs are OpenAI on both sides (UnservableReason), so the bridge only reads their usage.
                            answer = FormatBridge.TranslateResponse(api.Format, attemptModel, completion.Memory, info.Model, created, out usage);
                        }
                        catch (InvalidDataException e)
                        {
                            RouterLog.UpstreamInvalidBody(logger, attemptModel.Account.Name, attemptId, e.Message);
                            return new AttemptOutcome(AttemptKind.Failed, status, UpstreamErrors.InvalidBody(attemptModel.Account.Name));
                        }

                        if (api.EstimatesUsage && usage.PromptTokens == 0 && usage.CompletionTokens == 0)
                        {
                            usage = Estimate(usage, answer.Span, stream: false, cutOff: false);
                        }

                        // Output guardrails see the answer in the client's format; what the provider
                        // generated is billed whatever they decide.
                        if (outputCheck is not null && status < 300)
                        {
                            var (verdict, replacement) = await CheckOutputAsync(outputCheck, attemptModel, answer);
                            if (verdict is not null)
                            {
                                await ClientErrors.WriteAsync(api.Format, response, verdict.Value.Status, verdict.Value.Type, verdict.Value.Code, verdict.Value.Message);
                                await response.CompleteAsync();
                                await RecordAsync(verdict.Value.Status, verdict.Value.Code, usage, ttftMs: 0);
                                return AttemptOutcome.Success;
                            }

                            answer = replacement;
                        }

                        response.StatusCode = status;
                        response.ContentType = api.Format != attemptModel.Format
                            ? "application/json"
                            : upstreamResponse.Content.Headers.ContentType?.ToString() ?? "application/json";
                        response.ContentLength = answer.Length;

                        // Stored before the last bytes go out, so the client's next identical request already hits.
                        capture?.Append(answer.Span);
                        var stored = capture is null ? default : responseCache.StoreAsync(capture, status, response.ContentType!, usage, attemptModel.Id, attemptModel.Account.Provider);
                        await response.Body.WriteAsync(answer, aborted);
                        await response.CompleteAsync();
                        await stored;

                        RecordTpot(target, usage, ttftMs: 0);
                        await RecordAsync(status, "", usage, ttftMs: 0);
                        return AttemptOutcome.Success;
                    }
                }

                response.StatusCode = status;
                response.ContentType = "text/event-stream";
                response.Headers.CacheControl = "no-cache";
                // Tell buffering reverse proxies (nginx) in front of us to pass events through at once.
                response.Headers["X-Accel-Buffering"] = "no";
                context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
                double ttftMs = 0;
                var errorType = "";
                var translator = api.UpstreamPath is null
                    ? FormatBridge.CreateStreamTranslator(api.Format, attemptModel, clientWantsUsage: info.IncludeUsage == true, info.Model, created)
                    : null;
                using var relay = new SseUsageRelay(dropUsageOnlyChunk: info.IncludeUsage != true);
                using var parser = translator is null ? null : new SseEventParser(translator);
                var translated = translator is null ? null : new ArrayBufferWriter<byte>(4096);
                transcript?.Dispose();
                transcript = new StreamTranscript();
                var terminator = new StreamTerminator(attemptModel.Format);
                var output = capture?.Tee(response.BodyWriter) ?? response.BodyWriter;
                // Output guardrails filter the client-format events before `output`; without them the relay stays byte for byte.
                await using var guard = outputCheck is null ? null
                    : new OutputStreamGuard(guardrails, OutputContext(outputCheck, attemptModel), api.Format, settings.GuardrailsTimeout, aborted)
                    {
                        Findings = guardrailFindings,
                        OnError = e => OnGuardrailsError(e, GuardrailStage.Output, outputCheck.Subjects, attemptModel.Id),
                    };
                var staged = guard is null ? null : new ArrayBufferWriter<byte>(4096);
                try
                {
                    await using var stream = await upstreamResponse.Content.ReadAsStreamAsync(linked.Token);
                    while (true)
                    {
                        var buffer = relay.GetMemory();
                        var read = await stream.ReadAsync(buffer, linked.Token);
                        if (read == 0)
                        {
                            break;
                        }

                        timeoutSource.CancelAfter(timeout); // progress resets the idle timeout
                        terminator.Observe(buffer.Span[..read]);
                        int written;
                        staged?.ResetWrittenCount();
                        if (parser is null)
                        {
                            relay.Advance(read);
                            transcript.Append(buffer.Span[..read]);
                            written = relay.Relay(staged ?? (IBufferWriter<byte>)output);
                        }
                        else
                        {
                            // Translated streams parse events themselves; the relay's buffer is only the read target.
                            translated!.ResetWrittenCount();
                            parser.Process(buffer.Span[..read], translated);
                            written = translated.WrittenCount;
                            transcript.Append(translated.WrittenSpan);
                            (staged ?? (IBufferWriter<byte>)output).Write(translated.WrittenSpan);
                        }

                        if (guard is not null && !await guard.WriteAsync(staged!.WrittenMemory, output))
                        {
                            break;
                        }

                        if (written > 0)
                        {
                            if (ttftMs == 0)
                            {
                                ttftMs = time.GetElapsedTime(attemptStart).TotalMilliseconds;
                                telemetry.StreamingStarted(requestId, info.Model, attemptModel, ttftMs);
                            }

                            var flush = await output.FlushAsync(aborted);
                            if (flush.IsCanceled || flush.IsCompleted)
                            {
                                throw new OperationCanceledException(aborted);
                            }
                        }
                    }

                    if (guard is { StopCode.Length: > 0 })
                    {
                        // A guardrail ended the stream: the client gets its error event, the provider's tokens are billed.
                        errorType = guard.StopCode;
                        if (guard.StopCode == "guardrail_blocked")
                        {
                            RouterLog.GuardrailBlocked(logger, requestId, guard.BlockedBy.Guardrail, guard.BlockedBy.Category);
                        }

                        await output.FlushAsync(aborted);
                        await EndStreamWithErrorAsync(errorType, attemptModel, guard.StopMessage);
                    }
                    else
                    {
                        if (!terminator.Seen)
                        {
                            throw new EndOfStreamException("The upstream closed the stream without its terminating event.");
                        }

                        staged?.ResetWrittenCount();
                        if (parser is null)
                        {
                            relay.Complete(staged ?? (IBufferWriter<byte>)output);
                        }
                        else
                        {
                            translated!.ResetWrittenCount();
                            parser.Complete(translated);
                            transcript.Append(translated.WrittenSpan);
                            (staged ?? (IBufferWriter<byte>)output).Write(translated.WrittenSpan);
                        }

                        if (guard is not null && await guard.WriteAsync(staged!.WrittenMemory, output))
                        {
                            guard.Complete(output);
                        }

                        var stored = capture is null ? default
                            : responseCache.StoreAsync(capture, status, "text/event-stream", (parser is null ? relay.Usage : translator!.Usage) ?? default, attemptModel.Id, attemptModel.Account.Provider);
                        await response.CompleteAsync();
                        await stored;
                    }
                }
                catch (Exception e) when (!aborted.IsCancellationRequested
                    && e is OperationCanceledException or IOException or HttpRequestException or InvalidDataException or System.Text.Json.JsonException)
                {
                    errorType = e switch
                    {
                        OperationCanceledException => "upstream_timeout",
                        EndOfStreamException => "upstream_stream_truncated",
                        InvalidDataException or System.Text.Json.JsonException => "upstream_invalid_stream",
                        _ => "upstream_stream_broken",
                    };
                    RouterLog.UpstreamStreamBroken(logger, attemptModel.Account.Name, attemptId, e);
                    if (!response.HasStarted)
                    {
                        // Nothing reached the client yet: this is still an ordinary failed attempt.
                        response.Headers.CacheControl = default;
                        response.Headers.Remove("X-Accel-Buffering");
                        return new AttemptOutcome(AttemptKind.Failed, Error: errorType == "upstream_timeout"
                            ? UpstreamErrors.Timeout(attemptModel.Account.Name)
                            : UpstreamErrors.Unreachable(attemptModel.Account.Name), TimedOut: errorType == "upstream_timeout");
                    }

                    await EndStreamWithErrorAsync(errorType, attemptModel);
                }

                var streamUsage = (parser is null ? relay.Usage : translator!.Usage) ?? default;
                if (api.EstimatesUsage && (errorType.Length > 0 || (streamUsage.PromptTokens == 0 && streamUsage.CompletionTokens == 0)))
                {
                    streamUsage = Estimate(streamUsage, transcript.Bytes, stream: true, cutOff: errorType.Length > 0);
                }

                if (errorType.Length == 0)
                {
                    RecordTpot(target, streamUsage, ttftMs);
                }

                await RecordAsync(status, errorType, streamUsage, ttftMs);
                return errorType.Length == 0 ? AttemptOutcome.Success : new AttemptOutcome(AttemptKind.BrokeMidStream, status);
            }
        }

        // CheckStream's context: the request's output check for the model that answers.
        static CheckOutputRequest OutputContext(CheckOutputRequest check, CatalogModel attemptModel)
        {
            var context = check.Clone();
            context.Model = attemptModel.Id;
            return context;
        }

        // CheckOutput on a complete answer: (null, the body to send) or the error that replaces it.
        // Blocked answers are refused with 400 naming the guardrail, never echoing the content.
        async Task<((int Status, string Type, string Code, string Message)?, ReadOnlyMemory<byte>)> CheckOutputAsync(
            CheckOutputRequest check, CatalogModel attemptModel, ReadOnlyMemory<byte> answer)
        {
            var call = OutputContext(check, attemptModel);
            call.Body = UnsafeByteOperations.UnsafeWrap(answer);
            CheckReply reply;
            try
            {
                reply = await guardrails.CheckOutputAsync(call, deadline: DateTime.UtcNow + settings.GuardrailsTimeout, cancellationToken: aborted);
                if (reply.ModerationNeeded.Count > 0)
                {
                    call.ExternalModeration.Add(await externalModeration.ClassifyAsync(reply.ModerationNeeded, requestId, aborted));
                    reply = await guardrails.CheckOutputAsync(call, deadline: DateTime.UtcNow + settings.GuardrailsTimeout, cancellationToken: aborted);
                }
            }
            catch (RpcException e) when (!aborted.IsCancellationRequested)
            {
                var outage = OnGuardrailsError(e, GuardrailStage.Output, call.Subjects, attemptModel.Id);
                return outage.FailedOpen ? (null, answer)
                    : ((503, OpenAiError.ServiceUnavailable, "guardrails_unavailable", outage.Message(GuardrailStage.Output)), default);
            }

            GuardrailsOutage.AddFindings(guardrailFindings, reply.Findings, GuardrailStage.Output);

            if (reply.Verdict == Verdict.Block)
            {
                RouterLog.GuardrailBlocked(logger, requestId, reply.Guardrail, reply.Category);
                return ((400, OpenAiError.InvalidRequest, "guardrail_blocked",
                    $"The answer was blocked by guardrail '{reply.Guardrail}' (category '{reply.Category}'). {reply.Message}".TrimEnd()), default);
            }

            return (null, reply.Verdict == Verdict.Modify ? reply.Body.Memory : answer);
        }

        // A guardrails call failed: the applying rules' on_error decide (logged, counted, and recorded in the ledger).
        GuardrailsOutage OnGuardrailsError(RpcException e, GuardrailStage stage, IReadOnlyCollection<string> subjects, string checkedModel)
        {
            RouterLog.GuardrailsUnavailable(logger, requestId, e.StatusCode);
            var outage = GuardrailsOutage.Decide(e, catalog.Config.GuardrailRules, stage, subjects, checkedModel, metadata);
            if (GuardrailsOutage.IsUnreachable(e))
            {
                metrics.GuardrailsUnreachable(GuardrailsOutage.Name(stage), outage.FailedOpen);
                RouterLog.GuardrailsOnError(logger, requestId, GuardrailsOutage.Name(stage), outage.FailedOpen ? "fail_open" : "fail_closed",
                    string.Join(", ", outage.Findings.Select(f => f.Rule)));
            }

            guardrailFindings.AddRange(outage.Findings);
            return outage;
        }

        // Headers are gone, so the status cannot change: the failure goes in the stream as the last
        // event, in the client's format (the Anthropic SDKs and OpenAI's Python SDK raise it), and then
        // the connection is cut, for clients that ignore error events (OpenAI's .NET SDK): they see a
        // broken connection, never a clean end. The short pause lets the event leave: an abort drops
        // whatever is still queued in Kestrel's output pipe.
        async Task EndStreamWithErrorAsync(string errorType, CatalogModel attemptModel, string? guardrailMessage = null)
        {
            var message = guardrailMessage ?? errorType switch
            {
                "upstream_timeout" => $"The upstream provider of account '{attemptModel.Account.Name}' stopped sending within the stream idle timeout; the answer is incomplete.",
                "upstream_stream_truncated" => $"The upstream provider of account '{attemptModel.Account.Name}' ended the stream without its final event; the answer is incomplete.",
                "upstream_invalid_stream" => $"The upstream provider of account '{attemptModel.Account.Name}' sent a stream event the gateway could not read; the answer is incomplete.",
                _ => $"The upstream provider of account '{attemptModel.Account.Name}' broke off the stream; the answer is incomplete.",
            };
            try
            {
                await response.Body.WriteAsync(guardrailMessage is null
                    ? StreamErrorEvent.Render(api.Format, errorType, message)
                    : errorType == "guardrail_blocked"
                        ? StreamErrorEvent.Render(api.Format, errorType, message, OpenAiError.InvalidRequest, 400)
                        : StreamErrorEvent.Render(api.Format, errorType, message, OpenAiError.ServiceUnavailable, 503), aborted);
                await response.Body.FlushAsync(aborted);
                await Task.Delay(ErrorEventDrainTime, time, aborted);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException)
            {
                // The client is gone as well: nothing left to tell it.
            }

            context.Abort();
        }

        // Time per output token of a routed success, for latency-based routing and SLA cutoffs.
        void RecordTpot(RouteTarget? target, TokenUsage usage, double ttftMs)
        {
            if (target is not null && usage.CompletionTokens > 0)
            {
                var elapsed = time.GetElapsedTime(attemptStartTimestamp).TotalMilliseconds;
                var generating = ttftMs > 0 && usage.CompletionTokens > 1 ? (elapsed - ttftMs) / (usage.CompletionTokens - 1) : elapsed / usage.CompletionTokens;
                latency.Record(target.Id, generating);
            }
        }

        // Counts what the provider did not report, with the provider model's tokenizer (or the closest
        // public one); a cut-off stream keeps the provider's counts where they are larger.
        TokenUsage Estimate(TokenUsage reported, ReadOnlySpan<byte> output, bool stream, bool cutOff)
        {
            var providerModel = model!.Model.ProviderModelName;
            var prompt = reported.PromptTokens > 0 ? reported.PromptTokens : estimator.CountPrompt(forwardBody.Span, providerModel);
            var completion = estimator.CountCompletion(output, stream, providerModel);
            if (cutOff && reported.CompletionTokens >= completion && reported.PromptTokens > 0)
            {
                return reported;
            }

            return reported with { PromptTokens = prompt, CompletionTokens = Math.Max(completion, reported.CompletionTokens), Estimated = true };
        }

        // (9) Usage goes to the queue only after the response is complete: off the response path.
        // Each attempt of a routed request is its own record, linked to the first by parent_request_id;
        // only the final one (final: true) settles the token reservation and counts as the answer.
        ValueTask RecordAsync(int status, string errorType, TokenUsage usage, double ttftMs, bool final = true)
        {
            if (final)
            {
                // A success settles to its usage; a call that failed before the provider billed it gives its
                // reservation back. Unknown usage (client gone, stream without usage) keeps the estimate.
                var used = (long)usage.PromptTokens + usage.CompletionTokens;
                var cost = used > 0 ? RequestCost.ActualNanoUsd(model!, usage) : 0;
                if (status is >= 200 and < 300 && used > 0)
                {
                    Settle(used, cost);
                }
                else if (status >= 400 && status != StatusClientClosedRequest)
                {
                    Settle(0, 0);
                }

                Answered(status, errorType, usage, ttftMs, costNanoUsd: cost);
            }

            var record = Attributed(new UsageRecord
            {
                RequestId = attemptId,
                ParentRequestId = parentId,
                StartedAt = Timestamp.FromDateTimeOffset(attemptStartTimestamp == startTimestamp ? startedAt : startedAt + time.GetElapsedTime(startTimestamp, attemptStartTimestamp)),
                TokenId = identity?.TokenId ?? "",
                TokenName = identity?.TokenName ?? "",
                RequestedModel = info.Model ?? "",
                ServedModel = model!.Id,
                Provider = model.Account.Provider,
                PromptTokens = usage.PromptTokens,
                CompletionTokens = usage.CompletionTokens,
                CachedTokens = usage.CachedTokens,
                CacheWriteTokens = usage.CacheWriteTokens,
                ReasoningTokens = usage.ReasoningTokens,
                UsageEstimated = usage.Estimated,
                LatencyMs = time.GetElapsedTime(attemptStartTimestamp).TotalMilliseconds,
                TimeToFirstTokenMs = ttftMs,
                StatusCode = status,
                ErrorType = errorType,
                Streamed = info.Stream,
                Price = model.Price,
            });
            if (final)
            {
                // The request's findings go with the record that answered the client, once.
                record.Guardrails.Add(guardrailFindings);
            }

            return usageQueue.EnqueueAsync(record);
        }

        // The request's final answer: counted, published (model.request.complete) and measured.
        void Answered(int status, string errorType, TokenUsage usage = default, double ttftMs = 0, bool cached = false, long costNanoUsd = 0)
        {
            metrics.RequestAnswered(status);
            telemetry.Completed(new Telemetry.CompletedRequest(requestId, info.Model ?? "", model!.Id, model.Account.Provider, status, errorType, usage,
                ServiceDefaults.Billing.NanoUsd.ToUsd(costNanoUsd), time.GetElapsedTime(startTimestamp).TotalMilliseconds, ttftMs,
                Telemetry.RequestTelemetry.CallerOf(identity), info.Stream, cached));
        }

        // Who called, as policy names them: a personal token's user, a virtual account (a token from
        // before identities: its own name); the ledger has one team column, so the first of a user's teams.
        UsageRecord Attributed(UsageRecord record)
        {
            var caller = Telemetry.RequestTelemetry.CallerOf(identity);
            (record.User, record.Team, record.VirtualAccount) = (caller.User, caller.Team, caller.VirtualAccount);
            record.Metadata.Add(metadata);
            return record;
        }

        void Settle(long actualTokens, long actualCostNanoUsd)
        {
            if (reservation.Length > 0 || budgetReservation.Length > 0)
            {
                var settle = new SettleRequest
                {
                    Reservation = reservation,
                    ActualTokens = actualTokens,
                    RequestId = requestId,
                    BudgetReservation = budgetReservation,
                    ActualCostNanoUsd = actualCostNanoUsd,
                };
                // Off the request path: coalesced with other calls' settlements into one SettleBatch.
                settlements.Enqueue(settle);
                reservation = budgetReservation = "";
            }
        }
    }

    private async Task<AdmitReply?> AdmitAsync(AdmitRequest request, RouterOptions settings, CancellationToken aborted)
    {
        var requestId = request.RequestId;
        try
        {
            return await admission.AdmitAsync(
                request,
                deadline: DateTime.UtcNow + settings.PolicyTimeout,
                cancellationToken: aborted);
        }
        catch (RpcException e) when (!aborted.IsCancellationRequested)
        {
            RouterLog.PolicyUnavailable(logger, requestId, e.StatusCode);
            return null;
        }
    }

    private static async Task<PooledBuffer> ReadBodyAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        var buffer = new PooledBuffer((int)Math.Min(content.Headers.ContentLength ?? 8 * 1024, 16 * 1024 * 1024) + 1);
        try
        {
            await using var stream = await content.ReadAsStreamAsync(cancellationToken);
            while (buffer.Length < limit)
            {
                buffer.EnsureFree(4096);
                var read = await stream.ReadAsync(buffer.Array.AsMemory(buffer.Length, Math.Min(buffer.Array.Length - buffer.Length, limit - buffer.Length)), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                buffer.Length += read;
            }

            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>The upstream's rate-limit headers (Retry-After, retry-after-ms, x-ratelimit-*), passed on with a 429.</summary>
    private static KeyValuePair<string, string[]>[] RateLimitHeadersOf(HttpResponseMessage from) =>
        [.. from.Headers
            .Where(h => h.Key.Equals("Retry-After", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("retry-after-ms", StringComparison.OrdinalIgnoreCase)
                || h.Key.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase))
            .Select(h => KeyValuePair.Create(h.Key, h.Value.ToArray()))];

    /// <summary>How long the upstream asked to wait (Retry-After in seconds or as a date, or retry-after-ms), or null.</summary>
    private static TimeSpan? RetryAfterOf(HttpResponseMessage from, DateTimeOffset now)
    {
        if (from.Headers.TryGetValues("retry-after-ms", out var msValues)
            && double.TryParse(msValues.FirstOrDefault(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ms) && ms > 0)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        return from.Headers.RetryAfter switch
        {
            { Delta: { } delta } when delta > TimeSpan.Zero => delta,
            { Date: { } date } when date > now => date - now,
            _ => null,
        };
    }

    /// <summary>Why <paramref name="model"/> cannot serve this request, or null when it can.</summary>
    private static (string Code, string Message, string Param)? UnservableReason(InboundApi api, CatalogModel model, in ChatRequestInfo info)
    {
        if (!model.Model.Types.Contains(api.ModelType))
        {
            return ("model_not_supported", $"The model '{model.Id}' does not serve {api.Path} (its types: {string.Join(", ", model.Model.Types)}).", "model");
        }

        if (api.UpstreamPath is not null && model.Format != WireFormat.OpenAi)
        {
            return ("model_not_supported", $"The model '{model.Id}' is served by provider '{model.Account.Provider}', which has no {api.Path}.", "model");
        }

        if (info.MaxTokens > model.Model.MaxTokens)
        {
            return ("max_tokens_too_large", $"max_tokens is {info.MaxTokens}, above the maximum of {model.Model.MaxTokens} for model '{model.Id}'.", "max_tokens");
        }

        return null;
    }

    /// <summary>
    /// The cache config of a request: the model's; for a routed request the rule's <c>cache</c>, else
    /// the requested model's when it is a catalog model (never a target's: which target a plan
    /// picks first must not decide whether an answer is cached).
    /// </summary>
    private static ModelCacheConfig? CacheConfigOf(ModelCatalog catalog, RoutePlan? plan, CatalogModel model, string requestedModel) => plan is null
        ? model.Model.Cache
        : plan.Rule.Rule.Cache ?? (catalog.TryResolve(requestedModel, out var named) ? named.Model.Cache : null);

    /// <summary>The dearest maximum cost over <paramref name="targets"/> (each with its own default max_tokens); 0 for none.</summary>
    private static long MaxTargetCost(IEnumerable<CatalogModel> targets, long promptTokens, long? maxTokens, int choices)
    {
        long dearest = 0;
        foreach (var target in targets)
        {
            var tokens = maxTokens ?? target.Model.DefaultMaxTokens ?? target.Model.MaxTokens ?? 0;
            dearest = Math.Max(dearest, RequestCost.MaxNanoUsd(target, promptTokens, tokens, choices));
        }

        return dearest;
    }

    private static string NonEmpty(string value, string fallback) => string.IsNullOrEmpty(value) ? fallback : value;
}
