using System.Text.Json;

namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// Google's Gemini API: <c>POST /v1beta/models/{model}:generateContent</c> and
/// <c>:streamGenerateContent</c>, the key in <c>x-goog-api-key</c> or <c>?key=</c>, errors as
/// <c>{"error":{"code","message","status","details"}}</c> (google.rpc.Status).
/// </summary>
internal static class GeminiEndpoints
{
    // Google's servers end events with CRLF pairs, which its SDKs parse alongside LF and CR pairs;
    // sending them here checks that the gateway's parser does too.
    private static readonly byte[] s_sseEnd = "\r\n\r\n"u8.ToArray();

    /// <summary>Maps the <c>/v1beta/models</c> methods behind Google's key check.</summary>
    public static void MapGeminiEndpoints(this IEndpointRouteBuilder app, MockSettings settings) =>
        app.MapGroup("/v1beta").AddMockGate(settings, http => Refuse(http, settings), StatusError).MapPost("/models/{target}", GenerateAsync);

    /// <summary>
    /// A GenerateContentResponse; or, for streamGenerateContent, one per word (or one for a function
    /// call), each with the usage so far and the last with the finish reason: server-sent events with
    /// <c>?alt=sse</c>, else the elements of one JSON array.
    /// </summary>
    private static async Task GenerateAsync(HttpContext context)
    {
        // The method follows a colon in the last segment (gemini-2.5-flash:generateContent), which a
        // route template cannot express: the route takes the whole segment and it is split here.
        var target = context.Request.RouteValues["target"] as string ?? "";
        var colon = target.LastIndexOf(':');
        var model = colon > 0 ? target[..colon] : target;
        var method = colon > 0 ? target[(colon + 1)..] : "";
        if (method is not ("generateContent" or "streamGenerateContent"))
        {
            await Error(404, "NOT_FOUND", $"Method '{method}' is not found for models/{model}.").ExecuteAsync(context);
            return;
        }

        using var body = await MockJson.ReadObjectAsync(context);
        if (body is null || !MockJson.Array(body.RootElement, "contents").Any())
        {
            var message = body is null ? "Invalid JSON payload received." : "* GenerateContentRequest.contents: contents is not specified";
            await Error(400, "INVALID_ARGUMENT", message).ExecuteAsync(context);
            return;
        }

        var request = body.RootElement;
        var prompt = new MockPrompt
        {
            MaxTokens = Field(request, "generationConfig", "generation_config", out var config) ? MockJson.Int(config, "maxOutputTokens") ?? MockJson.Int(config, "max_output_tokens") : null,
        };
        if (Field(request, "systemInstruction", "system_instruction", out var system))
        {
            prompt.AddTurn(isUser: false, MockJson.Text(MockJson.TryGet(system, "parts", out var parts) ? parts : system));
        }

        foreach (var content in MockJson.Array(request, "contents"))
        {
            var parts = MockJson.Array(content, "parts").ToList();
            var responses = parts
                .Select(part => Field(part, "functionResponse", "function_response", out var response) ? response : default)
                .Where(response => response.ValueKind == JsonValueKind.Object)
                .Select(response => MockJson.TryGet(response, "response", out var result) ? result.GetRawText() : response.GetRawText())
                .ToList();
            var text = string.Join(" ", parts.Select(part => MockJson.String(part, "text")).Where(t => t is not null));
            prompt.AddTurn(MockJson.String(content, "role") != "model", text, responses.Count == 0 ? null : string.Join(" ", responses));
        }

        foreach (var tool in MockJson.Array(request, "tools"))
        {
            foreach (var declaration in MockJson.Array(tool, "functionDeclarations").Concat(MockJson.Array(tool, "function_declarations")))
            {
                if (MockJson.String(declaration, "name") is { } name)
                {
                    var schema = MockJson.TryGet(declaration, "parameters", out var parameters) ? parameters
                        : MockJson.TryGet(declaration, "parametersJsonSchema", out parameters) ? parameters
                        : default;
                    prompt.Tools.Add(new MockTool(name, MockJson.FirstProperty(schema)));
                }
            }
        }

        var controls = MockControls.From(context.Request);
        var answer = MockAnswer.For(prompt, controls);
        if (method == "generateContent")
        {
            await new MockJsonResult(200, json => WriteResponse(json, model, answer, answer.Text, answer.Usage.Output, last: true)).ExecuteAsync(context);
            return;
        }

        var sse = context.Request.Query["alt"] == "sse";
        var events = MockEventStream.Start(context, sse ? "text/event-stream" : "application/json", sse ? s_sseEnd : [], controls.ChunkDelayMs);
        var chunks = answer.ToolCall is null ? answer.Words.Length : 1;
        for (var i = 0; i < chunks; i++)
        {
            await events.PaceAsync();
            var json = events.Begin(sse ? "data: "u8 : i == 0 ? "["u8 : ",\r\n"u8);
            var text = answer.ToolCall is null ? answer.Piece(i) : null;
            WriteResponse(json, model, answer, text, answer.ToolCall is null ? i + 1 : answer.Usage.Output, last: i == chunks - 1);
            await events.EndAsync();
        }

        if (!sse)
        {
            await events.WriteRawAsync("]"u8);
        }
    }

    /// <summary>A GenerateContentResponse with <paramref name="text"/> (or the function call), the usage after <paramref name="output"/> tokens and, when <paramref name="last"/>, the finish reason.</summary>
    private static void WriteResponse(Utf8JsonWriter json, string model, MockAnswer answer, string? text, int output, bool last)
    {
        json.WriteStartObject();
        json.WriteStartArray("candidates");
        json.WriteStartObject();
        json.WriteStartObject("content");
        json.WriteStartArray("parts");
        json.WriteStartObject();
        if (answer.ToolCall is { } call)
        {
            json.WriteStartObject("functionCall");
            json.WriteString("name", call.Name);
            json.WritePropertyName("args");
            json.WriteRawValue(call.Arguments);
            json.WriteEndObject();
        }
        else
        {
            json.WriteString("text", text);
        }

        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteString("role", "model");
        json.WriteEndObject();
        if (last)
        {
            json.WriteString("finishReason", answer.Finish == MockFinish.Length ? "MAX_TOKENS" : "STOP");
        }

        json.WriteNumber("index", 0);
        json.WriteEndObject();
        json.WriteEndArray();

        // Google leaves zero counts out of usageMetadata.
        var usage = answer.Usage.After(output);
        json.WriteStartObject("usageMetadata");
        json.WriteNumber("promptTokenCount", usage.Prompt);
        json.WriteNumber("candidatesTokenCount", usage.Output);
        json.WriteNumber("totalTokenCount", usage.Total);
        if (usage.Cached > 0)
        {
            json.WriteNumber("cachedContentTokenCount", usage.Cached);
        }

        if (usage.Reasoning > 0)
        {
            json.WriteNumber("thoughtsTokenCount", usage.Reasoning);
        }

        json.WriteEndObject();
        json.WriteString("modelVersion", model);
        json.WriteString("responseId", answer.Id);
        json.WriteEndObject();
    }

    /// <summary>A field under its JSON name or its proto name: Google's JSON parser accepts both.</summary>
    private static bool Field(JsonElement element, string jsonName, string protoName, out JsonElement value) =>
        MockJson.TryGet(element, jsonName, out value) || MockJson.TryGet(element, protoName, out value);

    // Without a key Google denies the caller (403); a wrong key is an invalid argument (400, API_KEY_INVALID).
    private static IResult? Refuse(HttpContext context, MockSettings settings)
    {
        var key = context.Request.Headers["x-goog-api-key"].ToString() is { Length: > 0 } header ? header : context.Request.Query["key"].ToString();
        return MockGate.KeyMatches(settings, key) ? null
            : key.Length == 0 ? Error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers: pass an API key in x-goog-api-key or ?key=.")
            : Error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", invalidKey: true);
    }

    private static IResult StatusError(HttpContext context, int status)
    {
        var name = status switch
        {
            400 => "INVALID_ARGUMENT",
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            409 => "ABORTED",
            429 => "RESOURCE_EXHAUSTED",
            499 => "CANCELLED",
            501 => "NOT_IMPLEMENTED",
            503 => "UNAVAILABLE",
            504 => "DEADLINE_EXCEEDED",
            >= 500 => "INTERNAL",
            _ => "FAILED_PRECONDITION",
        };
        return Error(status, name, $"Mock error with status {status}.", retry: status == 429);
    }

    /// <summary>
    /// A google.rpc.Status error; an invalid key carries an ErrorInfo (reason API_KEY_INVALID) and a
    /// rate limit a RetryInfo, which is how Google says when to retry (it sends no Retry-After).
    /// </summary>
    private static MockJsonResult Error(int code, string status, string message, bool invalidKey = false, bool retry = false) => new(code, json =>
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteNumber("code", code);
        json.WriteString("message", message);
        json.WriteString("status", status);
        if (invalidKey || retry)
        {
            json.WriteStartArray("details");
            json.WriteStartObject();
            if (invalidKey)
            {
                json.WriteString("@type", "type.googleapis.com/google.rpc.ErrorInfo");
                json.WriteString("reason", "API_KEY_INVALID");
                json.WriteString("domain", "googleapis.com");
                json.WriteStartObject("metadata");
                json.WriteString("service", "generativelanguage.googleapis.com");
                json.WriteEndObject();
            }
            else
            {
                json.WriteString("@type", "type.googleapis.com/google.rpc.RetryInfo");
                json.WriteString("retryDelay", "1s");
            }

            json.WriteEndObject();
            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    });
}
