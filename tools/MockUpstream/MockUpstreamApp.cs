using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// A fake OpenAI-compatible provider for tests, benchmarks and offline quickstarts: deterministic
/// answers, and request headers that inject latency, slow streams and error statuses.
/// </summary>
/// <remarks>
/// Controls: env <c>MOCK_API_KEY</c> (require <c>Authorization: Bearer &lt;key&gt;</c>), env
/// <c>MOCK_LATENCY_MS</c> (default delay before response headers), request headers
/// <c>x-mock-latency-ms</c>, <c>x-mock-chunk-delay-ms</c> (between stream chunks) and
/// <c>x-mock-status</c> (answer that status with an OpenAI-style error) and <c>x-mock-output-tokens</c>
/// (pad or cut the answer to exactly that many words, one token and one stream chunk each).
/// </remarks>
public static class MockUpstreamApp
{
    private static readonly byte[] s_dataPrefix = "data: "u8.ToArray();
    private static readonly byte[] s_eventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] s_done = "data: [DONE]\n\n"u8.ToArray();
    private static readonly string[] s_filler = ["the", "gateway", "forwards", "each", "token", "as", "it", "arrives,", "and", "records", "usage."];

    /// <summary>Builds the mock; it listens on <c>ASPNETCORE_URLS</c> (or <c>--urls</c>).</summary>
    public static WebApplication Create(string[] args)
    {
        // Slim builder: the mock doubles as the upstream of overhead benchmarks, so it should cost little.
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, MockJsonContext.Default));

        var app = builder.Build();
        var apiKey = app.Configuration["MOCK_API_KEY"];
        var defaultLatency = int.TryParse(app.Configuration["MOCK_LATENCY_MS"], out var l) ? l : 0;

        app.MapGet("/health", () => "Healthy");

        var v1 = app.MapGroup("/v1");
        v1.AddEndpointFilter(async (context, next) =>
        {
            var request = context.HttpContext.Request;
            if (!string.IsNullOrEmpty(apiKey) && request.Headers.Authorization.ToString() != "Bearer " + apiKey)
            {
                return Error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
            }

            var latency = HeaderInt(request, "x-mock-latency-ms") ?? defaultLatency;
            if (latency > 0)
            {
                await Task.Delay(latency, context.HttpContext.RequestAborted);
            }

            if (HeaderInt(request, "x-mock-status") is { } status and >= 400)
            {
                if (status == 429)
                {
                    context.HttpContext.Response.Headers.RetryAfter = "1";
                }

                return Error(status, $"Mock error with status {status}.", status >= 500 ? "server_error" : status == 429 ? "rate_limit_error" : "invalid_request_error", "mock_status");
            }

            return await next(context);
        });

        v1.MapGet("/models", () => TypedResults.Json(
            new ModelList("list", [new ModelEntry("gpt-4o-mini", "model", 1_700_000_000, "mock"), new ModelEntry("gpt-4o", "model", 1_700_000_000, "mock")]),
            MockJsonContext.Default.ModelList));

        v1.MapPost("/chat/completions", ChatCompletionsAsync);
        return app;
    }

    private static async Task ChatCompletionsAsync(HttpContext context)
    {
        ChatRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, MockJsonContext.Default.ChatRequest, context.RequestAborted);
        }
        catch (JsonException e)
        {
            await Error(400, "Invalid JSON body: " + e.Message, "invalid_request_error", null).ExecuteAsync(context);
            return;
        }

        if (request is null || string.IsNullOrEmpty(request.Model) || request.Messages is not { Count: > 0 })
        {
            await Error(400, "'model' and 'messages' are required.", "invalid_request_error", null).ExecuteAsync(context);
            return;
        }

        var answer = Answer(request.Messages);
        var words = answer.Split(' ');
        if (HeaderInt(context.Request, "x-mock-output-tokens") is { } outputTokens and > 0 and <= 100_000)
        {
            words = Words(words, outputTokens);
            answer = string.Join(' ', words);
        }

        var usage = new Usage(PromptTokens(request.Messages), words.Length, PromptTokens(request.Messages) + words.Length);
        var id = "chatcmpl-" + Convert.ToHexStringLower(BitConverter.GetBytes(Stopwatch.GetTimestamp()));
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        if (request.Stream != true)
        {
            var completion = new ChatCompletion(id, "chat.completion", created, request.Model,
                [new Choice(0, new Message("assistant", answer), "stop")], usage);
            await TypedResults.Json(completion, MockJsonContext.Default.ChatCompletion).ExecuteAsync(context);
            return;
        }

        var chunkDelay = HeaderInt(context.Request, "x-mock-chunk-delay-ms") ?? 0;
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var ct = context.RequestAborted;

        await WriteChunkAsync(response, new ChatChunk(id, "chat.completion.chunk", created, request.Model, [new ChunkChoice(0, new Delta("assistant", ""), null)], null), ct);
        for (var i = 0; i < words.Length; i++)
        {
            if (chunkDelay > 0)
            {
                await Task.Delay(chunkDelay, ct);
            }

            var text = i == 0 ? words[i] : " " + words[i];
            await WriteChunkAsync(response, new ChatChunk(id, "chat.completion.chunk", created, request.Model, [new ChunkChoice(0, new Delta(null, text), null)], null), ct);
        }

        await WriteChunkAsync(response, new ChatChunk(id, "chat.completion.chunk", created, request.Model, [new ChunkChoice(0, new Delta(null, null), "stop")], null), ct);
        if (request.StreamOptions?.IncludeUsage == true)
        {
            await WriteChunkAsync(response, new ChatChunk(id, "chat.completion.chunk", created, request.Model, [], usage), ct);
        }

        await response.Body.WriteAsync(s_done, ct);
        await response.Body.FlushAsync(ct);
    }

    private static async Task WriteChunkAsync(HttpResponse response, ChatChunk chunk, CancellationToken ct)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(chunk, MockJsonContext.Default.ChatChunk);
        await response.Body.WriteAsync(s_dataPrefix, ct);
        await response.Body.WriteAsync(json, ct);
        await response.Body.WriteAsync(s_eventEnd, ct);
        await response.Body.FlushAsync(ct);
    }

    /// <summary>The deterministic answer to the last user message.</summary>
    public static string Answer(IReadOnlyList<ChatMessage> messages)
    {
        var last = messages.LastOrDefault(m => m.Role == "user") ?? messages[^1];
        var text = Text(last.Content).ReplaceLineEndings(" ").Trim();
        return "Mock answer to: " + (text.Length > 40 ? text[..40] : text);
    }

    /// <summary>
    /// Exactly <paramref name="count"/> words: the answer's own, cut or padded with a fixed filler, so
    /// benchmarks get a realistic answer length (a word is a token and a stream chunk here).
    /// </summary>
    public static string[] Words(string[] answer, int count)
    {
        var words = new string[count];
        for (var i = 0; i < count; i++)
        {
            words[i] = i < answer.Length ? answer[i] : s_filler[(i - answer.Length) % s_filler.Length];
        }

        return words;
    }

    /// <summary>Deterministic prompt tokens: about four characters a token, plus four per message.</summary>
    public static int PromptTokens(IReadOnlyList<ChatMessage> messages) =>
        messages.Sum(m => 4 + (Text(m.Content).Length + 3) / 4);

    private static string Text(JsonElement content) => content.ValueKind switch
    {
        JsonValueKind.String => content.GetString() ?? "",
        // Content parts: [{ "type": "text", "text": "..." }, ...]
        JsonValueKind.Array => string.Join(" ", content.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            .Select(p => p.GetProperty("text").GetString())),
        _ => "",
    };

    private static int? HeaderInt(HttpRequest request, string name) =>
        int.TryParse(request.Headers[name].ToString(), out var value) ? value : null;

    private static IResult Error(int status, string message, string type, string? code) =>
        TypedResults.Json(new ErrorEnvelope(new ErrorBody(message, type, code, null)), MockJsonContext.Default.ErrorEnvelope, statusCode: status);
}
