using System.Text.Json;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers;
using Gateway.Aspire.Router.Usage;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// Anthropic's <c>POST /v1/messages/count_tokens</c>, which Anthropic clients (Claude Code among
/// them) call to size a conversation: relayed to Anthropic models, whose own count is exact, and
/// counted with the gateway's tokenizer for every other model. Nothing is billed or rate limited.
/// </summary>
internal static class CountTokensApi
{
    /// <summary>Handles the request; answers and errors are in Anthropic's format.</summary>
    public static async Task CountAsync(
        HttpContext context,
        LiveConfig<RouterConfig> live,
        Admission.AdmissionClient admission,
        UpstreamInvoker upstream,
        TokenEstimator estimator,
        IOptions<RouterOptions> options,
        TimeProvider time)
    {
        var response = context.Response;
        var aborted = context.RequestAborted;
        var (admit, authError) = await OpenAiApi.AuthenticateAsync(context, admission, options, time, WireFormat.Anthropic);
        if (authError is not null)
        {
            await authError.ExecuteAsync(context);
            return;
        }

        using var body = await RequestBodyReader.ReadAsync(context.Request, options.Value.MaxRequestBodyBytes, aborted);
        if (body is null)
        {
            await ClientErrors.WriteAsync(WireFormat.Anthropic, response, 413, OpenAiError.InvalidRequest, "request_too_large", $"The request body exceeds the limit of {options.Value.MaxRequestBodyBytes} bytes.");
            return;
        }

        // Counting needs messages but, unlike a message, no max_tokens.
        var valid = ChatRequestInspector.TryInspect(body.Span, out var info, out var error);
        if (valid && !info.Fields.HasFlag(RequestFields.Messages))
        {
            (valid, error) = (false, "'messages' is required and must be a non-empty array.");
        }

        if (!valid)
        {
            await ClientErrors.WriteAsync(WireFormat.Anthropic, response, 400, OpenAiError.InvalidRequest, "invalid_body", error);
            return;
        }

        if ((admit!.AllowedModels.Count > 0 && !admit.AllowedModels.Contains(info.Model)) || !live.Current.Catalog.TryResolve(info.Model, out var model))
        {
            // A model the key may not use is not revealed: the same 404 as an unknown one.
            await ClientErrors.WriteAsync(WireFormat.Anthropic, response, 404, OpenAiError.InvalidRequest, "model_not_found", $"The model '{info.Model}' does not exist or you do not have access to it.");
            return;
        }

        response.Headers["x-gateway-model"] = model.Id;
        response.Headers["x-gateway-provider"] = model.Account.Provider;
        if (model.Format != WireFormat.Anthropic)
        {
            response.ContentType = "application/json";
            await using var json = new Utf8JsonWriter(response.BodyWriter);
            json.WriteStartObject();
            json.WriteNumber("input_tokens", estimator.CountPrompt(body.Span, model.Model.ProviderModelName));
            json.WriteEndObject();
            await json.FlushAsync(aborted);
            return;
        }

        using var upstreamBody = ChatRequestRewriter.Rewrite(body.Span, info, model.ProviderModelJson, injectIncludeUsage: false);
        using var request = new HttpRequestMessage(HttpMethod.Post, model.ApiUri("messages/count_tokens"))
        {
            Content = new ReadOnlyMemoryContent(upstreamBody.Memory),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        foreach (var (name, value) in model.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(model.Model.Timeout ?? options.Value.UpstreamTimeout);
        MappedError? failure = null;
        try
        {
            using var answer = await upstream.Invoker.SendAsync(request, timeout.Token);
            var bytes = await answer.Content.ReadAsByteArrayAsync(timeout.Token);
            if (answer.IsSuccessStatusCode)
            {
                response.ContentType = "application/json";
                await response.Body.WriteAsync(bytes, aborted);
                return;
            }

            failure = UpstreamErrors.FromStatus(answer.StatusCode, answer.Content.Headers.ContentType?.MediaType, bytes, model.Account.Name, model.Format);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            failure = UpstreamErrors.Timeout(model.Account.Name);
        }
        catch (HttpRequestException)
        {
            failure = UpstreamErrors.Unreachable(model.Account.Name);
        }

        var rendered = ClientErrors.Render(WireFormat.Anthropic, failure.Value.Status, failure.Value.Body);
        response.StatusCode = failure.Value.Status;
        response.ContentType = "application/json";
        await response.Body.WriteAsync(rendered, aborted);
    }
}
