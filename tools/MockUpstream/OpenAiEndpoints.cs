using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text.Json;

namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// OpenAI's API under <c>/v1</c> (<c>Authorization: Bearer</c>): chat completions with tool calls,
/// legacy completions, embeddings and the model list. Azure OpenAI serves the same handlers under
/// its deployment URLs (<see cref="AzureEndpoints"/>), so each handler takes the deployment name.
/// </summary>
internal static class OpenAiEndpoints
{
    private const int DefaultDimensions = 8;
    private const int MaxDimensions = 3072;

    /// <summary>Maps the <c>/v1</c> endpoints, behind a Bearer key check.</summary>
    public static void MapOpenAiEndpoints(this IEndpointRouteBuilder app, MockSettings settings)
    {
        var v1 = app.MapGroup("/v1").AddOpenAiGate(settings);
        v1.MapGet("/models", () => new MockJsonResult(200, WriteModels));
        v1.MapPost("/chat/completions", context => HandleAsync(context, OpenAiOperation.Chat, deployment: null));
        v1.MapPost("/completions", context => HandleAsync(context, OpenAiOperation.Completions, deployment: null));
        v1.MapPost("/embeddings", context => HandleAsync(context, OpenAiOperation.Embeddings, deployment: null));
    }

    /// <summary>
    /// Adds the gate in OpenAI's shape to <paramref name="group"/>: a 401 <c>invalid_api_key</c> without
    /// the right <c>Authorization: Bearer</c> key, then <c>x-mock-latency-ms</c> and <c>x-mock-status</c>.
    /// </summary>
    public static RouteGroupBuilder AddOpenAiGate(this RouteGroupBuilder group, MockSettings settings) => group.AddMockGate(
        settings,
        http => MockGate.KeyMatches(settings, BearerKey(http.Request)) ? null : Error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
        StatusError);

    /// <summary>Reads the request body and answers it as <paramref name="operation"/> does.</summary>
    /// <param name="context">The request.</param>
    /// <param name="operation">What the URL asks for.</param>
    /// <param name="deployment">The Azure deployment, which names the model; null for OpenAI, where the body does.</param>
    public static async Task HandleAsync(HttpContext context, OpenAiOperation operation, string? deployment)
    {
        using var body = await MockJson.ReadObjectAsync(context);
        if (body is null)
        {
            await Error(400, "The request body is not a valid JSON object.", "invalid_request_error", null).ExecuteAsync(context);
            return;
        }

        var request = body.RootElement;
        var model = deployment ?? MockJson.String(request, "model");
        var azure = deployment is not null;
        await (operation switch
        {
            OpenAiOperation.Chat => ChatAsync(context, request, model, azure),
            OpenAiOperation.Completions => CompletionsAsync(context, request, model, azure),
            _ => EmbeddingsAsync(context, request, model),
        });
    }

    /// <summary>
    /// <c>POST chat/completions</c>: the answer as a <c>chat.completion</c>, or streamed as
    /// <c>chat.completion.chunk</c>s (a role chunk, a chunk per word or argument fragment, a finish
    /// chunk, the usage chunk when <c>stream_options.include_usage</c>, then <c>[DONE]</c>).
    /// </summary>
    private static async Task ChatAsync(HttpContext context, JsonElement request, string? model, bool azure)
    {
        if (string.IsNullOrEmpty(model) || !MockJson.Array(request, "messages").Any())
        {
            await Error(400, "'model' and 'messages' are required.", "invalid_request_error", null).ExecuteAsync(context);
            return;
        }

        var prompt = new MockPrompt { MaxTokens = MockJson.Int(request, "max_completion_tokens") ?? MockJson.Int(request, "max_tokens") };
        foreach (var message in MockJson.Array(request, "messages"))
        {
            var role = MockJson.String(message, "role");
            var text = MockJson.TryGet(message, "content", out var content) ? MockJson.Text(content) : "";
            prompt.AddTurn(role == "user", role == "tool" ? "" : text, role == "tool" ? text : null);
        }

        foreach (var tool in MockJson.Array(request, "tools"))
        {
            if (MockJson.TryGet(tool, "function", out var function) && MockJson.String(function, "name") is { } name)
            {
                prompt.Tools.Add(new MockTool(name, MockJson.TryGet(function, "parameters", out var parameters) ? MockJson.FirstProperty(parameters) : null));
            }
        }

        await AnswerAsync(context, request, OpenAiOperation.Chat, model, prompt, azure);
    }

    /// <summary>
    /// <c>POST completions</c> (legacy): the answer to the first prompt as a <c>text_completion</c>,
    /// streamed as a chunk per word, a finish chunk, the usage chunk on request, then <c>[DONE]</c>.
    /// </summary>
    private static async Task CompletionsAsync(HttpContext context, JsonElement request, string? model, bool azure)
    {
        if (string.IsNullOrEmpty(model) || ReadInputs(request, "prompt") is not { } inputs)
        {
            await Error(400, "'model' and 'prompt' (a string, strings or token arrays) are required.", "invalid_request_error", null).ExecuteAsync(context);
            return;
        }

        // One choice, answering the first prompt (so it is added last): the mock does not fan out
        // prompt arrays into choices as OpenAI does.
        var prompt = new MockPrompt { MaxTokens = MockJson.Int(request, "max_tokens") };
        foreach (var input in inputs.AsEnumerable().Reverse())
        {
            prompt.AddTurn(isUser: true, input.Text);
        }

        await AnswerAsync(context, request, OpenAiOperation.Completions, model, prompt, azure);
    }

    /// <summary>
    /// <c>POST embeddings</c>: a deterministic unit vector per input (a string, strings, a token array
    /// or token arrays), <c>dimensions</c> long (8 unless asked), as floats or, with
    /// <c>encoding_format: "base64"</c>, as base64 of little-endian float32s.
    /// </summary>
    private static async Task EmbeddingsAsync(HttpContext context, JsonElement request, string? model)
    {
        var format = MockJson.String(request, "encoding_format") ?? "float";
        var dimensions = MockJson.Int(request, "dimensions") ?? DefaultDimensions;
        var inputs = ReadInputs(request, "input");
        if (string.IsNullOrEmpty(model) || inputs is null || format is not ("float" or "base64") || dimensions is < 1 or > MaxDimensions)
        {
            await Error(400, $"'model' and 'input' (a string, strings or token arrays) are required; 'encoding_format' is float or base64; 'dimensions' is 1 to {MaxDimensions}.", "invalid_request_error", null)
                .ExecuteAsync(context);
            return;
        }

        await new MockJsonResult(200, json => WriteEmbeddings(json, model, inputs, dimensions, format == "base64")).ExecuteAsync(context);
    }

    /// <summary>An error in OpenAI's shape: <c>{"error":{"message","type","code","param"}}</c>.</summary>
    public static IResult Error(int status, string message, string type, string? code) => new MockJsonResult(status, json =>
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", message);
        json.WriteString("type", type);
        WriteStringOrNull(json, "code", code);
        json.WriteNull("param");
        json.WriteEndObject();
        json.WriteEndObject();
    });

    private static IResult StatusError(HttpContext context, int status)
    {
        if (status == 429)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        var type = status >= 500 ? "server_error" : status == 429 ? "rate_limit_error" : "invalid_request_error";
        return Error(status, $"Mock error with status {status}.", type, "mock_status");
    }

    private static string? BearerKey(HttpRequest request) =>
        request.Headers.Authorization.ToString() is var value && value.StartsWith("Bearer ", StringComparison.Ordinal) ? value["Bearer ".Length..] : null;

    /// <summary>Answers a chat or legacy completion request, whole or streamed, the same way but for the choice shape.</summary>
    private static async Task AnswerAsync(HttpContext context, JsonElement request, OpenAiOperation api, string model, MockPrompt prompt, bool azure)
    {
        var controls = MockControls.From(context.Request);
        var answer = MockAnswer.For(prompt, controls);
        var head = api == OpenAiOperation.Chat
            ? new Head("chatcmpl-" + answer.Id, "chat.completion", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model)
            : new Head("cmpl-" + answer.Id, "text_completion", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model);
        if (!MockJson.True(request, "stream"))
        {
            await new MockJsonResult(200, json => WriteCompletion(json, api, head, answer, azure, controls.NoUsage)).ExecuteAsync(context);
            return;
        }

        var includeUsage = !controls.NoUsage && MockJson.TryGet(request, "stream_options", out var options) && MockJson.True(options, "include_usage");
        var events = MockEventStream.Start(context, "text/event-stream", MockEventStream.SseEnd, controls.ChunkDelayMs);
        if (azure)
        {
            // Azure opens every stream with a chunk that has no choices, only the prompt's filter results.
            var prelude = events.BeginData();
            prelude.WriteStartObject();
            prelude.WriteStartArray("choices");
            prelude.WriteEndArray();
            prelude.WriteNumber("created", 0);
            prelude.WriteString("id", "");
            prelude.WriteString("model", "");
            prelude.WriteString("object", "");
            WritePromptFilterResults(prelude);
            prelude.WriteEndObject();
            await events.EndAsync();
        }

        head = head with { Object = api == OpenAiOperation.Chat ? "chat.completion.chunk" : "text_completion" };
        if (api == OpenAiOperation.Chat)
        {
            await WriteChunkAsync(events, api, head, answer, Step.Start);
        }

        var pieces = answer.ToolCall?.Fragments.Length ?? answer.Words.Length;
        for (var i = 0; i < pieces; i++)
        {
            await events.PaceAsync();
            await WriteChunkAsync(events, api, head, answer, i);
        }

        await WriteChunkAsync(events, api, head, answer, Step.Finish);
        if (includeUsage)
        {
            var json = BeginChunk(events, head);
            json.WriteEndArray();
            WriteUsage(json, answer.Usage);
            json.WriteEndObject();
            await events.EndAsync();
        }

        await events.WriteRawAsync("data: [DONE]\n\n"u8);
    }

    private static Utf8JsonWriter BeginChunk(MockEventStream events, Head head)
    {
        var json = events.BeginData();
        json.WriteStartObject();
        WriteHead(json, head);
        json.WriteStartArray("choices");
        return json;
    }

    /// <summary>One chunk with one choice: the opening role (<see cref="Step.Start"/>), piece <paramref name="step"/>, or the finish.</summary>
    private static ValueTask<FlushResult> WriteChunkAsync(MockEventStream events, OpenAiOperation api, Head head, MockAnswer answer, int step)
    {
        var json = BeginChunk(events, head);
        json.WriteStartObject();
        if (api == OpenAiOperation.Completions)
        {
            json.WriteString("text", step == Step.Finish ? "" : answer.Piece(step));
            json.WriteNumber("index", 0);
            json.WriteNull("logprobs");
        }
        else
        {
            json.WriteNumber("index", 0);
            json.WriteStartObject("delta");
            var call = answer.ToolCall;
            if (step == Step.Start)
            {
                json.WriteString("role", "assistant");
                if (call is null)
                {
                    json.WriteString("content", "");
                }
                else
                {
                    json.WriteNull("content");
                    WriteToolCall(json, index: 0, "call_" + answer.Id, call.Name, arguments: "");
                }
            }
            else if (step != Step.Finish && call is not null)
            {
                WriteToolCall(json, index: 0, id: null, name: null, call.Fragments[step]);
            }
            else if (step != Step.Finish)
            {
                json.WriteString("content", answer.Piece(step));
            }

            json.WriteEndObject();
        }

        // OpenAI sends "finish_reason": null until the last chunk; some clients expect the key.
        WriteStringOrNull(json, "finish_reason", step == Step.Finish ? FinishReason(answer.Finish) : null);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        return events.EndAsync();
    }

    private static void WriteCompletion(Utf8JsonWriter json, OpenAiOperation api, Head head, MockAnswer answer, bool azure, bool noUsage)
    {
        json.WriteStartObject();
        WriteHead(json, head);
        if (azure)
        {
            WritePromptFilterResults(json);
        }

        json.WriteStartArray("choices");
        json.WriteStartObject();
        if (api == OpenAiOperation.Completions)
        {
            json.WriteString("text", answer.Text);
            json.WriteNumber("index", 0);
            json.WriteNull("logprobs");
        }
        else
        {
            json.WriteNumber("index", 0);
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            if (answer.ToolCall is { } call)
            {
                json.WriteNull("content");
                WriteToolCall(json, index: null, "call_" + answer.Id, call.Name, call.Arguments);
            }
            else
            {
                json.WriteString("content", answer.Text);
            }

            json.WriteEndObject();
        }

        if (azure)
        {
            WriteContentFilterResults(json, "content_filter_results");
        }

        json.WriteString("finish_reason", FinishReason(answer.Finish));
        json.WriteEndObject();
        json.WriteEndArray();
        if (!noUsage)
        {
            WriteUsage(json, answer.Usage);
        }

        json.WriteEndObject();
    }

    private static void WriteHead(Utf8JsonWriter json, Head head)
    {
        json.WriteString("id", head.Id);
        json.WriteString("object", head.Object);
        json.WriteNumber("created", head.Created);
        json.WriteString("model", head.Model);
    }

    /// <summary>A <c>tool_calls</c> array of one call; streamed deltas carry an index and only the new fields.</summary>
    private static void WriteToolCall(Utf8JsonWriter json, int? index, string? id, string? name, string arguments)
    {
        json.WriteStartArray("tool_calls");
        json.WriteStartObject();
        if (index is { } i)
        {
            json.WriteNumber("index", i);
        }

        if (id is not null)
        {
            json.WriteString("id", id);
            json.WriteString("type", "function");
        }

        json.WriteStartObject("function");
        if (name is not null)
        {
            json.WriteString("name", name);
        }

        json.WriteString("arguments", arguments);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
    }

    private static void WriteUsage(Utf8JsonWriter json, MockUsage usage)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", usage.Prompt);
        json.WriteNumber("completion_tokens", usage.Completion);
        json.WriteNumber("total_tokens", usage.Total);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", usage.Cached);
        json.WriteEndObject();
        json.WriteStartObject("completion_tokens_details");
        json.WriteNumber("reasoning_tokens", usage.Reasoning);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    // Azure OpenAI annotates prompts and answers with its content filter's verdicts.
    private static void WritePromptFilterResults(Utf8JsonWriter json)
    {
        json.WriteStartArray("prompt_filter_results");
        json.WriteStartObject();
        json.WriteNumber("prompt_index", 0);
        WriteContentFilterResults(json, "content_filter_results");
        json.WriteEndObject();
        json.WriteEndArray();
    }

    private static void WriteContentFilterResults(Utf8JsonWriter json, string name)
    {
        json.WriteStartObject(name);
        foreach (var category in (ReadOnlySpan<string>)["hate", "self_harm", "sexual", "violence"])
        {
            json.WriteStartObject(category);
            json.WriteBoolean("filtered", false);
            json.WriteString("severity", "safe");
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    private static void WriteEmbeddings(Utf8JsonWriter json, string model, List<Input> inputs, int dimensions, bool base64)
    {
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        var vector = new float[dimensions];
        var bytes = base64 ? new byte[dimensions * sizeof(float)] : [];
        for (var i = 0; i < inputs.Count; i++)
        {
            Embed(inputs[i].Text, vector);
            json.WriteStartObject();
            json.WriteString("object", "embedding");
            json.WriteNumber("index", i);
            if (base64)
            {
                for (var d = 0; d < dimensions; d++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(d * sizeof(float)), vector[d]);
                }

                json.WriteBase64String("embedding", bytes);
            }
            else
            {
                json.WriteStartArray("embedding");
                foreach (var value in vector)
                {
                    json.WriteNumberValue(value);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteString("model", model);
        var tokens = inputs.Sum(input => input.Tokens);
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", tokens);
        json.WriteNumber("total_tokens", tokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>A unit vector that depends only on the text: FNV-1a of the text seeds a SplitMix64 sequence.</summary>
    private static void Embed(string text, float[] vector)
    {
        var seed = 14695981039346656037UL;
        foreach (var c in text)
        {
            seed = (seed ^ c) * 1099511628211UL;
        }

        var norm = 0.0;
        for (var d = 0; d < vector.Length; d++)
        {
            var z = seed += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            vector[d] = (float)((z >> 11) * (2.0 / (1UL << 53)) - 1.0);
            norm += vector[d] * vector[d];
        }

        var scale = norm > 0 ? (float)(1 / Math.Sqrt(norm)) : 0f;
        for (var d = 0; d < vector.Length; d++)
        {
            vector[d] *= scale;
        }
    }

    /// <summary>
    /// OpenAI's text-or-tokens input (<c>prompt</c>, <c>input</c>): a string, strings, a token array or
    /// token arrays; null when absent, empty or of another shape. A token array reads as its numbers.
    /// </summary>
    private static List<Input>? ReadInputs(JsonElement request, string name)
    {
        if (!MockJson.TryGet(request, name, out var value))
        {
            return null;
        }

        var inputs = new List<Input>();
        if (value.ValueKind == JsonValueKind.String)
        {
            inputs.Add(TextInput(value.GetString() ?? ""));
        }
        else if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
        {
            inputs.Add(TokenInput(value));
        }
        else if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.String)
                {
                    inputs.Add(TextInput(item.GetString() ?? ""));
                }
                else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() > 0 && item.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
                {
                    inputs.Add(TokenInput(item));
                }
                else
                {
                    return null;
                }
            }
        }

        return inputs.Count > 0 ? inputs : null;

        static Input TextInput(string text) => new(text, Math.Max(1, (text.Length + 3) / 4));

        static Input TokenInput(JsonElement tokens) => new(string.Join(' ', tokens.EnumerateArray().Select(t => t.GetRawText())), tokens.GetArrayLength());
    }

    private static void WriteModels(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        foreach (var id in (ReadOnlySpan<string>)["gpt-4o-mini", "gpt-4o"])
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("object", "model");
            json.WriteNumber("created", 1_700_000_000);
            json.WriteString("owned_by", "mock");
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string FinishReason(MockFinish finish) => finish switch
    {
        MockFinish.Length => "length",
        MockFinish.ToolCall => "tool_calls",
        _ => "stop",
    };

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    /// <summary>The fields every completion and chunk starts with.</summary>
    private readonly record struct Head(string Id, string Object, long Created, string Model);

    /// <summary>One text or token input and its token count.</summary>
    private readonly record struct Input(string Text, int Tokens);

    /// <summary>The steps of a stream that are not a piece of the answer.</summary>
    private static class Step
    {
        public const int Start = -1;
        public const int Finish = -2;
    }
}

/// <summary>What an OpenAI-format request asks for.</summary>
internal enum OpenAiOperation
{
    /// <summary><c>chat/completions</c>.</summary>
    Chat,

    /// <summary><c>completions</c> (legacy).</summary>
    Completions,

    /// <summary><c>embeddings</c>.</summary>
    Embeddings,
}
