using System.IO.Pipelines;
using System.Text.Json;

namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// Anthropic's Messages API, <c>POST /v1/messages</c>: the key in <c>x-api-key</c> (the API
/// reference's header; API keys do not go in <c>Authorization</c>), <c>anthropic-version</c> required,
/// the body validated as Anthropic does (<c>model</c>, <c>max_tokens</c>, <c>messages</c>), errors as
/// <c>{"type":"error","error":{"type","message"},"request_id"}</c>.
/// </summary>
internal static class AnthropicEndpoints
{
    /// <summary>Maps <c>/v1/messages</c> and <c>/v1/messages/count_tokens</c> behind Anthropic's header checks.</summary>
    public static void MapAnthropicEndpoints(this IEndpointRouteBuilder app, MockSettings settings)
    {
        var v1 = app.MapGroup("/v1").AddMockGate(settings, http => Refuse(http, settings), StatusError);
        v1.MapPost("/messages", MessagesAsync);
        v1.MapPost("/messages/count_tokens", CountTokensAsync);
    }

    /// <summary><c>{"input_tokens": N}</c>: the input count the same request would report as a message.</summary>
    private static async Task CountTokensAsync(HttpContext context)
    {
        using var body = await MockJson.ReadObjectAsync(context);
        var request = body?.RootElement ?? default;
        if (body is null || MockJson.String(request, "model") is null || !MockJson.Array(request, "messages").Any())
        {
            await Error(400, "invalid_request_error", body is null ? "The request body is not a valid JSON object." : "model and messages: Field required").ExecuteAsync(context);
            return;
        }

        var answer = MockAnswer.For(ReadPrompt(request, maxTokens: null), MockControls.From(context.Request));
        await new MockJsonResult(200, json =>
        {
            json.WriteStartObject();
            json.WriteNumber("input_tokens", answer.Usage.Input);
            json.WriteEndObject();
        }).ExecuteAsync(context);
    }

    /// <summary>
    /// A message object, or its stream: message_start, content_block_start, ping, a
    /// content_block_delta per word (text_delta) or argument fragment (input_json_delta),
    /// content_block_stop, message_delta (stop_reason, output_tokens), message_stop.
    /// </summary>
    private static async Task MessagesAsync(HttpContext context)
    {
        using var body = await MockJson.ReadObjectAsync(context);
        if (body is null)
        {
            await Error(400, "invalid_request_error", "The request body is not a valid JSON object.").ExecuteAsync(context);
            return;
        }

        var request = body.RootElement;
        var model = MockJson.String(request, "model");
        var maxTokens = MockJson.Int(request, "max_tokens");
        var invalid = model is null ? "model: Field required"
            : maxTokens is null ? "max_tokens: Field required"
            : maxTokens < 1 ? "max_tokens: Input should be greater than or equal to 1"
            : !MockJson.Array(request, "messages").Any() ? "messages: Field required"
            : null;
        if (invalid is not null || model is null)
        {
            await Error(400, "invalid_request_error", invalid ?? "").ExecuteAsync(context);
            return;
        }

        var prompt = ReadPrompt(request, maxTokens);
        var controls = MockControls.From(context.Request);
        var answer = MockAnswer.For(prompt, controls);
        if (MockJson.True(request, "stream"))
        {
            await StreamAsync(context, model, answer, controls.ChunkDelayMs);
            return;
        }

        await new MockJsonResult(200, json => WriteMessage(json, model, answer, done: true)).ExecuteAsync(context);
    }

    /// <summary>The prompt of a Messages request: system, turns with their tool results, tools.</summary>
    private static MockPrompt ReadPrompt(JsonElement request, int? maxTokens)
    {
        var prompt = new MockPrompt { MaxTokens = maxTokens };
        if (MockJson.TryGet(request, "system", out var system))
        {
            prompt.AddTurn(isUser: false, MockJson.Text(system));
        }

        foreach (var message in MockJson.Array(request, "messages"))
        {
            var content = MockJson.TryGet(message, "content", out var c) ? c : default;
            var results = content.ValueKind == JsonValueKind.Array
                ? content.EnumerateArray().Where(block => MockJson.String(block, "type") == "tool_result").ToList()
                : [];
            var toolResult = results.Count == 0 ? null
                : string.Join(" ", results.Select(block => MockJson.TryGet(block, "content", out var result) ? MockJson.Text(result) : ""));
            prompt.AddTurn(MockJson.String(message, "role") == "user", MockJson.Text(content), toolResult);
        }

        foreach (var tool in MockJson.Array(request, "tools"))
        {
            if (MockJson.String(tool, "name") is { } name)
            {
                prompt.Tools.Add(new MockTool(name, MockJson.TryGet(tool, "input_schema", out var schema) ? MockJson.FirstProperty(schema) : null));
            }
        }

        return prompt;
    }

    private static async Task StreamAsync(HttpContext context, string model, MockAnswer answer, int delayMs)
    {
        var events = MockEventStream.Start(context, "text/event-stream; charset=utf-8", MockEventStream.SseEnd, delayMs);
        var json = BeginEvent(events, "message_start");
        json.WritePropertyName("message");
        WriteMessage(json, model, answer, done: false);
        await EndEventAsync(events, json);

        json = BeginEvent(events, "content_block_start");
        json.WriteNumber("index", 0);
        json.WritePropertyName("content_block");
        WriteBlock(json, answer, done: false);
        await EndEventAsync(events, json);

        await EndEventAsync(events, BeginEvent(events, "ping"));

        // Tool input opens with an empty fragment, as Anthropic's streams do.
        var tool = answer.ToolCall is not null;
        string[] deltas = answer.ToolCall is { } call ? ["", .. call.Fragments] : [.. Enumerable.Range(0, answer.Words.Length).Select(answer.Piece)];
        for (var i = 0; i < deltas.Length; i++)
        {
            if (!tool || i > 0)
            {
                await events.PaceAsync();
            }

            json = BeginEvent(events, "content_block_delta");
            json.WriteNumber("index", 0);
            json.WriteStartObject("delta");
            json.WriteString("type", tool ? "input_json_delta" : "text_delta");
            json.WriteString(tool ? "partial_json" : "text", deltas[i]);
            json.WriteEndObject();
            await EndEventAsync(events, json);
        }

        json = BeginEvent(events, "content_block_stop");
        json.WriteNumber("index", 0);
        await EndEventAsync(events, json);

        json = BeginEvent(events, "message_delta");
        json.WriteStartObject("delta");
        json.WriteString("stop_reason", StopReason(answer.Finish));
        json.WriteNull("stop_sequence");
        json.WriteEndObject();
        json.WriteStartObject("usage");
        json.WriteNumber("output_tokens", answer.Usage.Completion);
        json.WriteEndObject();
        await EndEventAsync(events, json);

        await EndEventAsync(events, BeginEvent(events, "message_stop"));
    }

    /// <summary>Starts an event whose name is also the <c>type</c> of its data, as in all of Anthropic's events.</summary>
    private static Utf8JsonWriter BeginEvent(MockEventStream events, string type)
    {
        var json = events.BeginEvent(type);
        json.WriteStartObject();
        json.WriteString("type", type);
        return json;
    }

    private static ValueTask<FlushResult> EndEventAsync(MockEventStream events, Utf8JsonWriter json)
    {
        json.WriteEndObject();
        return events.EndAsync();
    }

    /// <summary>The message object; before it is <paramref name="done"/> (message_start) it has no content, no stop reason and one output token.</summary>
    private static void WriteMessage(Utf8JsonWriter json, string model, MockAnswer answer, bool done)
    {
        json.WriteStartObject();
        json.WriteString("id", "msg_" + answer.Id);
        json.WriteString("type", "message");
        json.WriteString("role", "assistant");
        json.WriteString("model", model);
        json.WriteStartArray("content");
        if (done)
        {
            WriteBlock(json, answer, done: true);
        }

        json.WriteEndArray();
        if (done)
        {
            json.WriteString("stop_reason", StopReason(answer.Finish));
        }
        else
        {
            json.WriteNull("stop_reason");
        }

        json.WriteNull("stop_sequence");
        json.WriteStartObject("usage");
        json.WriteNumber("input_tokens", answer.Usage.Input);
        json.WriteNumber("cache_creation_input_tokens", answer.Usage.CacheWrite);
        json.WriteNumber("cache_read_input_tokens", answer.Usage.Cached);
        json.WriteNumber("output_tokens", done ? answer.Usage.Completion : 1);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The answer's one content block; in content_block_start (not <paramref name="done"/>) text is empty and tool input <c>{}</c>.</summary>
    private static void WriteBlock(Utf8JsonWriter json, MockAnswer answer, bool done)
    {
        json.WriteStartObject();
        if (answer.ToolCall is { } call)
        {
            json.WriteString("type", "tool_use");
            json.WriteString("id", "toolu_" + answer.Id);
            json.WriteString("name", call.Name);
            json.WritePropertyName("input");
            json.WriteRawValue(done ? call.Arguments : "{}");
            // Anthropic's current schema marks who made the call; a model's own call is "direct".
            json.WriteStartObject("caller");
            json.WriteString("type", "direct");
            json.WriteEndObject();
        }
        else
        {
            json.WriteString("type", "text");
            json.WriteString("text", done ? answer.Text : "");
        }

        json.WriteEndObject();
    }

    private static string StopReason(MockFinish finish) => finish switch
    {
        MockFinish.Length => "max_tokens",
        MockFinish.ToolCall => "tool_use",
        _ => "end_turn",
    };

    // The key before the version header, as every format here checks keys first; Anthropic does not
    // document its order.
    private static IResult? Refuse(HttpContext context, MockSettings settings)
    {
        var key = context.Request.Headers["x-api-key"].ToString();
        if (!MockGate.KeyMatches(settings, key))
        {
            return Error(401, "authentication_error", key.Length == 0 ? "x-api-key header is required" : "invalid x-api-key");
        }

        return string.IsNullOrEmpty(context.Request.Headers["anthropic-version"]) ? Error(400, "invalid_request_error", "anthropic-version: header is required") : null;
    }

    private static IResult StatusError(HttpContext context, int status)
    {
        if (status == 429)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        var type = status switch
        {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            >= 500 => "api_error",
            _ => "invalid_request_error",
        };
        return Error(status, type, $"Mock error with status {status}.");
    }

    private static MockJsonResult Error(int status, string type, string message) => new(status, json =>
    {
        json.WriteStartObject();
        json.WriteString("type", "error");
        json.WriteStartObject("error");
        json.WriteString("type", type);
        json.WriteString("message", message);
        json.WriteEndObject();
        json.WriteString("request_id", "req_" + MockAnswer.NewId());
        json.WriteEndObject();
    });
}
