namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// A fake AI provider for tests, benchmarks and offline quickstarts that speaks each provider's real
/// wire format on one port: deterministic answers, tool calls, usage with cached and reasoning
/// tokens, and request headers that inject latency, slow streams and error statuses.
/// </summary>
/// <remarks>
/// <para>Endpoints (answers are the same in every format; errors are in each format's own shape):</para>
/// <list type="bullet">
/// <item><c>GET /health</c>.</item>
/// <item>OpenAI, <c>Authorization: Bearer &lt;key&gt;</c>: <c>GET /v1/models</c>, <c>POST /v1/chat/completions</c>
/// (streamed or not, <c>stream_options.include_usage</c>, tool calls), <c>POST /v1/completions</c> (legacy),
/// <c>POST /v1/embeddings</c> (strings or token arrays, <c>dimensions</c>, <c>encoding_format: base64</c>).</item>
/// <item>OpenAI media and utilities, same key (<see cref="MediaEndpoints"/>): <c>POST /v1/images/generations</c>
/// (a 1×1 PNG as base64 or a URL; usage for gpt-image models), <c>/v1/audio/speech</c> (silent audio in the
/// asked format, longer for longer input), <c>/v1/audio/transcriptions</c> (multipart; "Mock transcription of
/// &lt;file&gt; (&lt;N&gt; bytes) with &lt;model&gt;"), <c>/v1/moderations</c> (flags violence when the input
/// holds the word "attack"), and <c>/v1/rerank</c> as vLLM serves it (scored by words shared with the query).
/// Each answer carries the model the request named in the header <c>x-mock-model</c>.</item>
/// <item>Azure OpenAI, <c>api-key</c> header and <c>?api-version=</c> (404 without): <c>POST
/// /openai/deployments/{deployment}/chat/completions</c>, <c>/completions</c>, <c>/embeddings</c>; the deployment is the model.</item>
/// <item>Anthropic, <c>x-api-key</c> and <c>anthropic-version</c> headers: <c>POST /v1/messages</c>
/// (streamed as message_start … message_stop or not, tool_use, tool_result).</item>
/// <item>Gemini, <c>x-goog-api-key</c> header or <c>?key=</c>: <c>POST /v1beta/models/{model}:generateContent</c>
/// and <c>:streamGenerateContent</c> (server-sent events with <c>?alt=sse</c>, else one JSON array).</item>
/// </list>
/// <para>Answers: "Mock answer to: " and the first 40 characters of the last user message; "Mock
/// answer to tool result: " and the result when the conversation ends with one; a tool call to the
/// first offered tool when the request offers tools and the last user message mentions "weather".
/// A request's output limit (max_tokens, max_completion_tokens, maxOutputTokens) cuts the answer
/// and says so (length, max_tokens, MAX_TOKENS). Prompt tokens: four a turn plus one per four characters.</para>
/// <para>Controls: env <c>MOCK_API_KEY</c> (the key every format must present), env <c>MOCK_LATENCY_MS</c>
/// (default delay before response headers); request headers <c>x-mock-latency-ms</c>,
/// <c>x-mock-chunk-delay-ms</c> (before each streamed piece), <c>x-mock-status</c> (answer that status
/// with the format's error; 429 adds a retry hint), <c>x-mock-output-tokens</c> (a text answer of
/// exactly that many words, one token and one stream piece each), <c>x-mock-tool-call</c> (call the
/// named tool when tools are offered), <c>x-mock-cached-tokens</c> and <c>x-mock-cache-write-tokens</c>
/// (prompt tokens added as read from and written to the cache), <c>x-mock-reasoning-tokens</c>
/// (output tokens added as reasoning), <c>x-mock-no-usage: true</c> (OpenAI format: no usage at
/// all, include_usage ignored, as some OpenAI-compatible servers behave). Faults for resilience tests:
/// <c>x-mock-reset: true</c> (the connection is cut before any answer), <c>x-mock-retry-after</c> (the
/// Retry-After of an <c>x-mock-status</c> 429), <c>x-mock-fail-times</c> with <c>x-mock-fail-key</c> (only
/// the first N requests of that key get <c>x-mock-status</c>), <c>x-mock-stream-fault</c> (reset, stall,
/// truncate or malformed after <c>x-mock-stream-fault-after</c> items; see MockEventStream). Usage follows each format: OpenAI's prompt_tokens include
/// cached ones, Anthropic's input_tokens exclude cache reads and writes, Gemini's
/// candidatesTokenCount excludes thoughtsTokenCount.</para>
/// </remarks>
public static class MockUpstreamApp
{
    /// <summary>Builds the mock; it listens on <c>ASPNETCORE_URLS</c> (or <c>--urls</c>).</summary>
    public static WebApplication Create(string[] args)
    {
        // Slim builder: the mock doubles as the upstream of overhead benchmarks, so it should cost little.
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        var app = builder.Build();
        var settings = new MockSettings(
            app.Configuration["MOCK_API_KEY"],
            int.TryParse(app.Configuration["MOCK_LATENCY_MS"], out var latency) ? latency : 0);

        app.MapGet("/health", () => "Healthy");
        app.MapOpenAiEndpoints(settings);
        app.MapMediaEndpoints(settings);
        app.MapAzureEndpoints(settings);
        app.MapAnthropicEndpoints(settings);
        app.MapGeminiEndpoints(settings);
        return app;
    }
}
