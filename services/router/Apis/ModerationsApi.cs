using System.Text.Json;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Streaming;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// <c>POST /v1/moderations</c> in OpenAI's format. Answered by the guardrails service's built-in
/// classifier when the request names no model or one of OpenAI's moderation model names (so an
/// OpenAI SDK works unchanged, with nothing leaving the gateway); relayed to a provider model when
/// it names a catalog model of type <c>moderation</c>.
/// </summary>
internal static class ModerationsApi
{
    /// <summary>Most inputs in one request, as the guardrails service accepts.</summary>
    private const int MaxInputs = 1_000;

    /// <summary>Handles the request.</summary>
    public static async Task ModerateAsync(
        HttpContext context,
        LiveConfig<RouterConfig> live,
        IRequestForwarder forwarder,
        Admission.AdmissionClient admission,
        Guardrails.Grpc.Guardrails.GuardrailsClient guardrails,
        IOptions<RouterOptions> options,
        TimeProvider time)
    {
        var request = context.Request;
        var aborted = context.RequestAborted;

        // Buffered so that a relayed request can be read again by the forwarder.
        request.EnableBuffering();
        using var body = await RequestBodyReader.ReadAsync(request, options.Value.MaxRequestBodyBytes, aborted);
        request.Body.Position = 0;
        if (body is not null && ModelOf(body.Span) is { } named && live.Current.Catalog.TryResolve(named, out _))
        {
            await forwarder.ForwardAsync(context, InboundApi.Moderations);
            return;
        }

        var (_, authError) = await OpenAiApi.AuthenticateAsync(context, admission, options, time);
        if (authError is not null)
        {
            await authError.ExecuteAsync(context);
            return;
        }

        if (body is null)
        {
            await OpenAiError.WriteAsync(context.Response, 413, OpenAiError.InvalidRequest, "request_too_large", $"The request body exceeds the limit of {options.Value.MaxRequestBodyBytes} bytes.");
            return;
        }

        if (!TryReadInputs(body.Span, out var model, out var inputs, out var error, out var param))
        {
            await OpenAiError.WriteAsync(context.Response, 400, OpenAiError.InvalidRequest, "invalid_body", error, param);
            return;
        }

        if (model is not null && !IsBuiltInName(model))
        {
            await OpenAiError.WriteAsync(context.Response, 404, OpenAiError.InvalidRequest, "model_not_found",
                $"The model '{model}' does not exist. Omit 'model' (or use omni-moderation-latest) for the gateway's own moderation, or name a configured model of type moderation.", "model");
            return;
        }

        var requestId = context.Response.Headers["x-request-id"].ToString();
        ModerateReply reply;
        try
        {
            var call = new ModerateRequest { RequestId = requestId };
            call.Inputs.Add(inputs);
            reply = await guardrails.ModerateAsync(call, deadline: DateTime.UtcNow + options.Value.GuardrailsTimeout, cancellationToken: aborted);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            await OpenAiError.WriteAsync(context.Response, 400, OpenAiError.InvalidRequest, "invalid_input", e.Status.Detail, "input");
            return;
        }
        catch (RpcException) when (!aborted.IsCancellationRequested)
        {
            await OpenAiError.WriteAsync(context.Response, 503, OpenAiError.ServiceUnavailable, "guardrails_unavailable", "The gateway cannot moderate right now; retry shortly.");
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers["x-gateway-model"] = reply.Model;
        await using var json = new Utf8JsonWriter(context.Response.BodyWriter, SseEventWriter.JsonOptions);
        json.WriteStartObject();
        json.WriteString("id", "modr-" + requestId);
        json.WriteString("model", reply.Model);
        json.WriteStartArray("results");
        foreach (var result in reply.Results)
        {
            json.WriteStartObject();
            json.WriteBoolean("flagged", result.Flagged);
            json.WriteStartObject("categories");
            foreach (var (name, value) in result.Categories.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                json.WriteBoolean(name, value);
            }

            json.WriteEndObject();
            json.WriteStartObject("category_scores");
            foreach (var (name, value) in result.CategoryScores.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                json.WriteNumber(name, value);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(aborted);
    }

    /// <summary>OpenAI's own moderation model names, which SDKs send by default: answered by the gateway's classifier.</summary>
    private static bool IsBuiltInName(string model) =>
        model.StartsWith("omni-moderation", StringComparison.Ordinal) || model.StartsWith("text-moderation", StringComparison.Ordinal);

    private static string? ModelOf(ReadOnlySpan<byte> body) =>
        ChatRequestInspector.TryInspect(body, out var info, out _) ? info.Model : null;

    /// <summary>
    /// Reads <c>model</c> (optional) and <c>input</c>: a string, an array of strings, or an array of
    /// content parts of which only <c>text</c> parts can be classified here.
    /// </summary>
    private static bool TryReadInputs(ReadOnlySpan<byte> body, out string? model, out List<string> inputs, out string error, out string? param)
    {
        model = null;
        inputs = [];
        error = "";
        param = "input";
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                (error, param) = ("The request body must be a JSON object.", null);
                return false;
            }

            if (root.TryGetProperty("model"u8, out var m) && m.ValueKind != JsonValueKind.Null)
            {
                if (m.ValueKind != JsonValueKind.String)
                {
                    (error, param) = ("'model' must be a string.", "model");
                    return false;
                }

                model = m.GetString();
            }

            if (!root.TryGetProperty("input"u8, out var input))
            {
                error = "'input' is required: a string or an array of strings.";
                return false;
            }

            if (input.ValueKind == JsonValueKind.String)
            {
                inputs.Add(input.GetString()!);
            }
            else if (input.ValueKind == JsonValueKind.Array && input.GetArrayLength() is > 0 and <= MaxInputs)
            {
                var parts = new List<string>();
                foreach (var item in input.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        inputs.Add(item.GetString()!);
                    }
                    else if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("type"u8, out var type) && type.ValueEquals("text"u8)
                        && item.TryGetProperty("text"u8, out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        parts.Add(text.GetString()!);
                    }
                    else
                    {
                        error = "The gateway's moderation classifies text: 'input' must be a string, strings, or text parts. Name a configured moderation model to classify images.";
                        return false;
                    }
                }

                if (parts.Count > 0)
                {
                    // Content parts are one multimodal input (one result), as in OpenAI's API.
                    inputs.Add(string.Join("\n", parts));
                }
            }
            else
            {
                error = $"'input' must be a string or an array of 1 to {MaxInputs} items.";
                return false;
            }

            return true;
        }
        catch (JsonException e)
        {
            (error, param) = ($"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).", null);
            return false;
        }
    }
}
