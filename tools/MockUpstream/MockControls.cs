namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// The request headers that steer an answer, read the same way in every wire format (latency and
/// status are the gate's, see <see cref="MockGate"/>).
/// </summary>
/// <param name="OutputTokens"><c>x-mock-output-tokens</c>: exactly this many words in a text answer (1 to 100 000).</param>
/// <param name="ChunkDelayMs"><c>x-mock-chunk-delay-ms</c>: pause before each streamed piece.</param>
/// <param name="CachedTokens"><c>x-mock-cached-tokens</c>: prompt tokens reported as read from the provider's cache.</param>
/// <param name="CacheWriteTokens"><c>x-mock-cache-write-tokens</c>: prompt tokens reported as written to the cache.</param>
/// <param name="ReasoningTokens"><c>x-mock-reasoning-tokens</c>: output tokens reported as reasoning.</param>
/// <param name="ToolCall"><c>x-mock-tool-call</c>: call the tool of that name when the request offers tools.</param>
/// <param name="NoUsage">
/// <c>x-mock-no-usage: true</c>: OpenAI format only, report no usage at all, as some
/// OpenAI-compatible servers do (no <c>usage</c> in answers, <c>include_usage</c> ignored in streams).
/// </param>
/// <param name="EchoChunk"><c>x-mock-echo: N</c>: answer with the last user message verbatim, streamed N characters a piece.</param>
internal readonly record struct MockControls(
    int? OutputTokens,
    int ChunkDelayMs,
    int CachedTokens,
    int CacheWriteTokens,
    int ReasoningTokens,
    string? ToolCall,
    bool NoUsage = false,
    int? EchoChunk = null)
{
    // Token counts are summed into int totals: a bound keeps a silly header from overflowing them.
    private const int MaxCount = 100_000_000;

    /// <summary>Reads the controls of <paramref name="request"/>; absent or invalid headers mean "no control".</summary>
    public static MockControls From(HttpRequest request) => new(
        HeaderInt(request, "x-mock-output-tokens") is { } words and > 0 and <= 100_000 ? words : null,
        Count(request, "x-mock-chunk-delay-ms"),
        Count(request, "x-mock-cached-tokens"),
        Count(request, "x-mock-cache-write-tokens"),
        Count(request, "x-mock-reasoning-tokens"),
        request.Headers["x-mock-tool-call"].ToString() is { Length: > 0 } tool ? tool : null,
        request.Headers["x-mock-no-usage"].ToString() == "true",
        HeaderInt(request, "x-mock-echo") is { } echo and > 0 ? echo : null);

    /// <summary>An integer header, or null when absent or not a number.</summary>
    public static int? HeaderInt(HttpRequest request, string name) =>
        int.TryParse(request.Headers[name].ToString(), out var value) ? value : null;

    private static int Count(HttpRequest request, string name) => Math.Clamp(HeaderInt(request, name) ?? 0, 0, MaxCount);
}
