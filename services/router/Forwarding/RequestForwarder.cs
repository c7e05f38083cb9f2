using System.Buffers;
using System.Net.Http.Headers;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Providers;
using Gateway.Aspire.Router.Providers.Streaming;
using Gateway.Aspire.Router.RateLimiting;
using Gateway.Aspire.Router.Usage;
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
/// (2) key present (bearer or <c>x-api-key</c>), else 401; the <c>x-gateway-metadata</c> header parsed (400 after auth).
/// (3) body read up to the size limit (413) and parsed once for model/stream/include_usage/max_tokens (400).
/// (4) policy Admit, one round trip with the model, metadata and token estimate: 401 invalid key,
///     403 model not allowed, 429 rate limited (OpenAI's x-ratelimit-* headers on every answer a
///     rule applied to); then the catalog lookup: 404 unknown model, 400 when the model does not
///     serve this API or the request asks more output than it allows. A body or metadata that
///     failed (2)/(3) is still authenticated first, so a bad key always gets 401. From here on the
///     answer names the model and provider that serve it (<c>x-gateway-model</c>, <c>x-gateway-provider</c>).
/// (5) guardrails CheckInput: allow, block (400) or modify (forward the replacement body).
/// (6) upstream request: same format on both sides: the model spliced to the provider model and
///     <c>include_usage</c> injected into OpenAI streams so they can be billed; across formats the
///     body is translated (<see cref="FormatBridge"/>; 400 when it cannot be expressed). The
///     account's key and headers added.
/// (7) send; connection failures 502, timeout 504, upstream error statuses mapped (UpstreamErrors)
///     and written in the client's format.
/// (8) relay: a JSON body in one write with its usage read (translated first across formats); a
///     stream event by event, flushed after each read: OpenAI to OpenAI byte for byte with the
///     injected usage-only chunk dropped, otherwise through a stream translator; the timeout
///     resets on every read.
/// (9) after the response completed: usage the provider did not report (a server ignoring
///     include_usage, a stream cut off by either side) is counted from what was sent with
///     Microsoft.ML.Tokenizers and marked estimated; the usage record goes to the ledger queue, and
///     a token reservation is settled to the actual usage (a background gRPC call, off the response path).
/// </remarks>
internal sealed class RequestForwarder(
    ModelCatalog catalog,
    Admission.AdmissionClient admission,
    Guardrails.Grpc.Guardrails.GuardrailsClient guardrails,
    UpstreamInvoker upstream,
    UsageQueue usageQueue,
    TokenEstimator estimator,
    IOptions<RouterOptions> options,
    TimeProvider time,
    ILogger<RequestForwarder> logger) : IRequestForwarder
{
    private const int StatusClientClosedRequest = 499;
    private const int MaxErrorBodyBytes = 64 * 1024;
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

        Identity? identity = null;
        CatalogModel? model = null;
        var reservation = "";
        ChatRequestInfo info = default;
        PooledBuffer? body = null;
        PooledBuffer? upstreamBody = null;
        StreamTranscript? transcript = null;
        MultipartForm? form = null;
        var forwardBody = ReadOnlyMemory<byte>.Empty;
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
            }

            // (4) Admission; a bad body is authenticated first so a bad key always reads 401.
            // Only a valid request counts against rate limits; the prompt estimate is ~4 bytes a token
            // of the whole body (an overestimate on purpose: it is settled to actual usage).
            var countable = bodyError is null && metadataValid;
            var admitRequest = new AdmitRequest { Token = token, Model = countable ? info.Model : "", RequestId = requestId };
            if (countable)
            {
                admitRequest.Metadata.Add(metadata);
                admitRequest.EstimatedPromptTokens = (body!.Length + 3) / 4;
                admitRequest.MaxTokens = info.MaxTokens
                    ?? (catalog.TryResolve(info.Model, out var declared) ? declared.Model.DefaultMaxTokens ?? declared.Model.MaxTokens : null)
                    ?? 0;
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
            reservation = admit.Reservation;
            if (admit.Decision == AdmitDecision.RateLimited)
            {
                await ClientErrors.WriteAsync(api.Format, response, 429, OpenAiError.RateLimit, "rate_limit_exceeded",
                    NonEmpty(admit.Message, $"Rate limit reached for rule '{admit.RateLimitRule}'."));
                return;
            }

            if (admit.Decision != AdmitDecision.Allowed)
            {
                await ClientErrors.WriteAsync(api.Format, response, 503, OpenAiError.ServiceUnavailable, "policy_unavailable", "The gateway could not decide on this request; retry shortly.");
                return;
            }

            identity = admit.Identity ?? new Identity();
            if (!catalog.TryResolve(info.Model, out model))
            {
                Settle(0);
                await ClientErrors.WriteAsync(api.Format, response, 404, OpenAiError.InvalidRequest, "model_not_found",
                    $"The model '{info.Model}' does not exist. Models are named '<account>/<model>'; GET /v1/models lists them.", "model");
                return;
            }

            response.Headers["x-gateway-model"] = model.Id;
            response.Headers["x-gateway-provider"] = model.Account.Provider;
            if (UnservableReason(api, model, info) is { } unservable)
            {
                await Fail(400, OpenAiError.InvalidRequest, unservable.Code, unservable.Message, unservable.Param);
                return;
            }

            // (5) Guardrails on the input.
            forwardBody = body!.Memory;
            if (settings.CheckInputGuardrails && form is null)
            {
                CheckReply check;
                try
                {
                    check = await guardrails.CheckInputAsync(
                        new CheckRequest
                        {
                            RequestId = requestId,
                            TokenId = identity.TokenId,
                            Model = model.Id,
                            Api = api.Path,
                            // No copy: the buffer outlives the call.
                            Body = UnsafeByteOperations.UnsafeWrap(forwardBody),
                        },
                        deadline: DateTime.UtcNow + settings.GuardrailsTimeout,
                        cancellationToken: aborted);
                }
                catch (RpcException e) when (!aborted.IsCancellationRequested)
                {
                    // Fail closed: a guardrail that cannot run must not be skipped silently.
                    RouterLog.GuardrailsUnavailable(logger, requestId, e.StatusCode);
                    await Fail(503, OpenAiError.ServiceUnavailable, "guardrails_unavailable", "The gateway cannot check this request right now; retry shortly.");
                    return;
                }

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
            }

            // (6) Upstream request: splice when the formats match, translate when they differ.
            ReadOnlyMemory<byte> upstreamPayload;
            Uri upstreamUri;
            try
            {
                if (form is not null)
                {
                    upstreamPayload = default;
                    upstreamUri = model.ApiUri(api.UpstreamPath!);
                }
                else if (api.UpstreamPath is { } path)
                {
                    upstreamBody = ChatRequestRewriter.Rewrite(forwardBody.Span, info, model.ProviderModelJson, injectIncludeUsage: info.Stream && info.IncludeUsage != true);
                    upstreamPayload = upstreamBody.Memory;
                    upstreamUri = model.ApiUri(path);
                }
                else
                {
                    upstreamPayload = FormatBridge.CreateRequest(api.Format, forwardBody, info, model, out upstreamBody);
                    upstreamUri = model.ChatUri(info.Stream);
                }
            }
            catch (TranslationException e)
            {
                await Fail(400, OpenAiError.InvalidRequest, "unsupported_for_provider", e.Message, e.Param);
                return;
            }

            using var upstreamRequest = new HttpRequestMessage(HttpMethod.Post, upstreamUri)
            {
                Content = form?.ToContent(model.Model.ProviderModelName) ?? new ReadOnlyMemoryContent(upstreamPayload),
            };
            if (form is null)
            {
                upstreamRequest.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            }
            foreach (var (name, value) in model.Headers)
            {
                upstreamRequest.Headers.TryAddWithoutValidation(name, value);
            }

            if (api.Format == WireFormat.Anthropic && model.Format == WireFormat.Anthropic && request.Headers["anthropic-beta"].ToString() is { Length: > 0 } beta)
            {
                // Anthropic clients opt into features (prompt caching, long context) this way; the body relayed as it is needs them.
                upstreamRequest.Headers.TryAddWithoutValidation("anthropic-beta", beta);
            }

            if (info.Stream)
            {
                upstreamRequest.Headers.Accept.Add(s_eventStream);
            }

            // (7) Send. The timeout first bounds the wait for headers, then each silence in the stream.
            var timeout = model.Model.Timeout ?? settings.UpstreamTimeout;
            using var timeoutSource = new CancellationTokenSource(timeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, timeoutSource.Token);
            HttpResponseMessage upstreamResponse;
            try
            {
                upstreamResponse = await upstream.Invoker.SendAsync(upstreamRequest, linked.Token);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
            {
                RouterLog.UpstreamTimeout(logger, model.Account.Name, requestId);
                await FailMapped(UpstreamErrors.Timeout(model.Account.Name));
                return;
            }
            catch (HttpRequestException e) when (!aborted.IsCancellationRequested)
            {
                RouterLog.UpstreamUnreachable(logger, model.Account.Name, requestId, e.HttpRequestError);
                await FailMapped(UpstreamErrors.Unreachable(model.Account.Name));
                return;
            }

            using (upstreamResponse)
            {
                var status = (int)upstreamResponse.StatusCode;
                if (status is < 200 or >= 300)
                {
                    RouterLog.UpstreamError(logger, model.Account.Name, status, requestId);
                    using var errorBody = await ReadBodyAsync(upstreamResponse.Content, MaxErrorBodyBytes, linked.Token);
                    var mapped = UpstreamErrors.FromStatus(upstreamResponse.StatusCode, upstreamResponse.Content.Headers.ContentType?.MediaType, errorBody.Span, model.Account.Name, model.Format);
                    if (mapped.Status == 429)
                    {
                        CopyRateLimitHeaders(upstreamResponse, response);
                        if (model.Format == WireFormat.Gemini && !response.Headers.ContainsKey("Retry-After")
                            && Providers.Gemini.GeminiErrors.RetryDelay(errorBody.Span) is { } delay)
                        {
                            // Clients and SDKs honour Retry-After, not Google's RetryInfo detail.
                            response.Headers.RetryAfter = ((long)Math.Ceiling(delay.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        }
                    }

                    await FailMapped(mapped);
                    return;
                }

                // (8) Relay.
                var isStream = upstreamResponse.Content.Headers.ContentType?.MediaType == "text/event-stream";
                var created = time.GetUtcNow().ToUnixTimeSeconds();
                if (!isStream)
                {
                    using var completion = await ReadBodyAsync(upstreamResponse.Content, int.MaxValue, linked.Token);
                    ReadOnlyMemory<byte> answer;
                    TokenUsage usage;
                    try
                    {
                        // Relayed APIs are OpenAI on both sides (UnservableReason), so the bridge only reads their usage.
                        answer = FormatBridge.TranslateResponse(api.Format, model, completion.Memory, info.Model, created, out usage);
                    }
                    catch (InvalidDataException e)
                    {
                        RouterLog.UpstreamInvalidBody(logger, model.Account.Name, requestId, e.Message);
                        await FailMapped(UpstreamErrors.InvalidBody(model.Account.Name));
                        return;
                    }

                    response.StatusCode = status;
                    response.ContentType = api.Format != model.Format
                        ? "application/json"
                        : upstreamResponse.Content.Headers.ContentType?.ToString() ?? "application/json";
                    response.ContentLength = answer.Length;
                    await response.Body.WriteAsync(answer, aborted);
                    await response.CompleteAsync();
                    if (api.EstimatesUsage && usage.PromptTokens == 0 && usage.CompletionTokens == 0)
                    {
                        usage = Estimate(usage, answer.Span, stream: false, cutOff: false);
                    }

                    await RecordAsync(status, "", usage, ttftMs: 0);
                    return;
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
                    ? FormatBridge.CreateStreamTranslator(api.Format, model, clientWantsUsage: info.IncludeUsage == true, info.Model, created)
                    : null;
                using var relay = new SseUsageRelay(dropUsageOnlyChunk: info.IncludeUsage != true);
                using var parser = translator is null ? null : new SseEventParser(translator);
                var translated = translator is null ? null : new ArrayBufferWriter<byte>(4096);
                transcript = new StreamTranscript();
                var output = response.BodyWriter;
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
                        int written;
                        if (parser is null)
                        {
                            relay.Advance(read);
                            transcript.Append(buffer.Span[..read]);
                            written = relay.Relay(output);
                        }
                        else
                        {
                            // Translated streams parse events themselves; the relay's buffer is only the read target.
                            translated!.ResetWrittenCount();
                            parser.Process(buffer.Span[..read], translated);
                            written = translated.WrittenCount;
                            transcript.Append(translated.WrittenSpan);
                            output.Write(translated.WrittenSpan);
                        }

                        if (written > 0)
                        {
                            if (ttftMs == 0)
                            {
                                ttftMs = time.GetElapsedTime(startTimestamp).TotalMilliseconds;
                            }

                            var flush = await output.FlushAsync(aborted);
                            if (flush.IsCanceled || flush.IsCompleted)
                            {
                                throw new OperationCanceledException(aborted);
                            }
                        }
                    }

                    if (parser is null)
                    {
                        relay.Complete(output);
                    }
                    else
                    {
                        translated!.ResetWrittenCount();
                        parser.Complete(translated);
                        transcript.Append(translated.WrittenSpan);
                        output.Write(translated.WrittenSpan);
                    }

                    await response.CompleteAsync();
                }
                catch (Exception e) when (!aborted.IsCancellationRequested && e is OperationCanceledException or IOException or HttpRequestException)
                {
                    // Headers are gone: the status cannot change. Abort so the client sees a broken
                    // stream rather than a clean end of a truncated answer.
                    errorType = e is OperationCanceledException ? "upstream_timeout" : "upstream_stream_broken";
                    RouterLog.UpstreamStreamBroken(logger, model.Account.Name, requestId, e);
                    context.Abort();
                }

                var streamUsage = (parser is null ? relay.Usage : translator!.Usage) ?? default;
                if (api.EstimatesUsage && (errorType.Length > 0 || (streamUsage.PromptTokens == 0 && streamUsage.CompletionTokens == 0)))
                {
                    streamUsage = Estimate(streamUsage, transcript.Bytes, stream: true, cutOff: errorType.Length > 0);
                }

                await RecordAsync(status, errorType, streamUsage, ttftMs);
            }
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
        }

        async Task Fail(int status, string type, string code, string message, string? param = null)
        {
            await ClientErrors.WriteAsync(api.Format, response, status, type, code, message, param);
            await response.CompleteAsync();
            await RecordAsync(status, code, default, 0);
        }

        async Task FailMapped(MappedError error)
        {
            var body = ClientErrors.Render(api.Format, error.Status, error.Body);
            response.StatusCode = error.Status;
            response.ContentType = "application/json";
            response.ContentLength = body.Length;
            await response.Body.WriteAsync(body, aborted);
            await response.CompleteAsync();
            await RecordAsync(error.Status, error.ErrorType, default, 0);
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
        ValueTask RecordAsync(int status, string errorType, TokenUsage usage, double ttftMs)
        {
            // A success settles to its usage; a call that failed before the provider billed it gives its
            // reservation back. Unknown usage (client gone, stream without usage) keeps the estimate.
            var used = (long)usage.PromptTokens + usage.CompletionTokens;
            if (status is >= 200 and < 300 && used > 0)
            {
                Settle(used);
            }
            else if (status >= 400 && status != StatusClientClosedRequest)
            {
                Settle(0);
            }

            return usageQueue.EnqueueAsync(new UsageRecord
            {
                RequestId = requestId,
                StartedAt = Timestamp.FromDateTimeOffset(startedAt),
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
                LatencyMs = time.GetElapsedTime(startTimestamp).TotalMilliseconds,
                TimeToFirstTokenMs = ttftMs,
                StatusCode = status,
                ErrorType = errorType,
                Streamed = info.Stream,
                Price = model.Price,
                // Every token is a virtual-account token today; user and team follow when policy's identity carries them.
                VirtualAccount = identity?.TokenName ?? "",
                Metadata = { metadata },
            });
        }

        void Settle(long actualTokens)
        {
            if (reservation.Length > 0)
            {
                _ = SettleAsync(reservation, actualTokens, requestId, settings);
                reservation = "";
            }
        }
    }

    /// <summary>Not awaited by the request: a failure only leaves the estimate counted until its window passes.</summary>
    private async Task SettleAsync(string reservation, long actualTokens, string requestId, RouterOptions settings)
    {
        try
        {
            await admission.SettleAsync(
                new SettleRequest { Reservation = reservation, ActualTokens = actualTokens, RequestId = requestId },
                deadline: DateTime.UtcNow + settings.PolicyTimeout);
        }
        catch (RpcException e)
        {
            RouterLog.SettleFailed(logger, requestId, e.StatusCode);
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

    private static void CopyRateLimitHeaders(HttpResponseMessage from, HttpResponse to)
    {
        foreach (var (name, values) in from.Headers)
        {
            if (name.Equals("Retry-After", StringComparison.OrdinalIgnoreCase) || name.Equals("retry-after-ms", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase))
            {
                to.Headers[name] = values.ToArray();
            }
        }
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

    private static string NonEmpty(string value, string fallback) => string.IsNullOrEmpty(value) ? fallback : value;
}
