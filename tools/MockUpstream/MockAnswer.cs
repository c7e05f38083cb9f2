using System.Diagnostics;
using System.Text.Json;

namespace Gateway.Aspire.MockUpstream;

/// <summary>How an answer ends, before each format names it (stop/end_turn/STOP, length/max_tokens/MAX_TOKENS, tool calls).</summary>
internal enum MockFinish
{
    /// <summary>The answer is complete.</summary>
    Stop,

    /// <summary>The request's output limit cut the answer.</summary>
    Length,

    /// <summary>The answer is a tool call.</summary>
    ToolCall,
}

/// <summary>
/// Token counts of an answer, from which each format writes its own usage shape.
/// </summary>
/// <param name="Input">Uncached prompt tokens (Anthropic <c>input_tokens</c>).</param>
/// <param name="Cached">Prompt tokens read from the cache (<c>x-mock-cached-tokens</c>).</param>
/// <param name="CacheWrite">Prompt tokens written to the cache (<c>x-mock-cache-write-tokens</c>).</param>
/// <param name="Output">Visible output tokens: a word of text or an argument fragment each.</param>
/// <param name="Reasoning">Reasoning tokens (<c>x-mock-reasoning-tokens</c>), billed as output.</param>
internal readonly record struct MockUsage(int Input, int Cached, int CacheWrite, int Output, int Reasoning)
{
    /// <summary>All prompt tokens, cached and cache-written included (OpenAI <c>prompt_tokens</c>, Gemini <c>promptTokenCount</c>).</summary>
    public int Prompt => Input + Cached + CacheWrite;

    /// <summary>All output tokens, reasoning included (OpenAI <c>completion_tokens</c>, Anthropic <c>output_tokens</c>).</summary>
    public int Completion => Output + Reasoning;

    /// <summary>Prompt and completion together.</summary>
    public int Total => Prompt + Completion;

    /// <summary>The usage after <paramref name="output"/> visible tokens, for running totals in streams.</summary>
    public MockUsage After(int output) => this with { Output = output };
}

/// <summary>A tool call the answer makes.</summary>
/// <param name="Name">The tool called.</param>
/// <param name="Arguments">The arguments, a JSON object.</param>
/// <param name="Fragments">The arguments cut into the pieces a stream sends (a token each).</param>
internal sealed record MockToolCall(string Name, string Arguments, string[] Fragments);

/// <summary>
/// The deterministic answer to a <see cref="MockPrompt"/>, the same in every wire format: text that
/// quotes the question (or the tool result the conversation ends with), or a tool call when the
/// request offers tools and asks about the weather (or <c>x-mock-tool-call</c> names one).
/// </summary>
internal sealed class MockAnswer
{
    private const int QuoteLength = 40;
    private const int FragmentLength = 8;

    private static readonly string[] s_filler = ["the", "gateway", "forwards", "each", "token", "as", "it", "arrives,", "and", "records", "usage."];

    private readonly bool _echo;

    private MockAnswer(string[] words, MockToolCall? toolCall, MockFinish finish, MockUsage usage, bool echo = false)
    {
        _echo = echo;
        Words = words;
        ToolCall = toolCall;
        Finish = finish;
        Usage = usage;
    }

    /// <summary>A fresh id each format prefixes its own way (chatcmpl-, msg_, toolu_, call_).</summary>
    public string Id { get; } = NewId();

    /// <summary>The text, a word per token and per streamed piece; empty for a tool call.</summary>
    public string[] Words { get; }

    /// <summary>The tool call, or null for a text answer.</summary>
    public MockToolCall? ToolCall { get; }

    /// <summary>How the answer ends.</summary>
    public MockFinish Finish { get; }

    /// <summary>The answer's token counts.</summary>
    public MockUsage Usage { get; }

    /// <summary>The whole text.</summary>
    public string Text => string.Join(_echo ? "" : " ", Words);

    /// <summary>The <paramref name="index"/>th streamed piece of text: a word, after a space unless it is the first.</summary>
    public string Piece(int index) => index == 0 || _echo ? Words[index] : " " + Words[index];

    /// <summary>A fresh, unique enough id (hex), for answers and request ids.</summary>
    public static string NewId() => Convert.ToHexStringLower(BitConverter.GetBytes(Stopwatch.GetTimestamp()));

    /// <summary>Answers <paramref name="prompt"/> as <paramref name="controls"/> ask.</summary>
    public static MockAnswer For(MockPrompt prompt, MockControls controls)
    {
        var usage = new MockUsage(prompt.InputTokens, controls.CachedTokens, controls.CacheWriteTokens, 0, controls.ReasoningTokens);
        if (ToolToCall(prompt, controls) is { } tool)
        {
            var arguments = Arguments(tool.ArgumentName ?? "input", Quote(prompt.LastUserText));
            var fragments = Fragments(arguments);
            return new MockAnswer([], new MockToolCall(tool.Name, arguments, fragments), MockFinish.ToolCall, usage with { Output = fragments.Length });
        }

        if (controls.EchoChunk is { } size)
        {
            // The user's text verbatim, streamed size characters at a time: tests see what the provider received.
            var pieces = prompt.LastUserText.Chunk(size).Select(c => new string(c)).DefaultIfEmpty("").ToArray();
            return new MockAnswer(pieces, null, MockFinish.Stop, usage with { Output = pieces.Length }, echo: true);
        }

        var text = prompt.ToolResult is { } result
            ? "Mock answer to tool result: " + Quote(result)
            : "Mock answer to: " + Quote(prompt.LastUserText);
        var words = text.Split(' ');
        if (controls.OutputTokens is { } count)
        {
            words = Padded(words, count);
        }

        var finish = MockFinish.Stop;
        if (prompt.MaxTokens is { } max and > 0 && words.Length > max)
        {
            words = words[..max];
            finish = MockFinish.Length;
        }

        return new MockAnswer(words, null, finish, usage with { Output = words.Length });
    }

    /// <summary>
    /// Exactly <paramref name="count"/> words: the answer's own, cut or padded with a fixed filler, so
    /// benchmarks get a realistic answer length (a word is a token and a stream chunk here).
    /// </summary>
    private static string[] Padded(string[] answer, int count)
    {
        var words = new string[count];
        for (var i = 0; i < count; i++)
        {
            words[i] = i < answer.Length ? answer[i] : s_filler[(i - answer.Length) % s_filler.Length];
        }

        return words;
    }

    // A tool result ends the exchange with text; otherwise a call needs offered tools and a reason.
    private static MockTool? ToolToCall(MockPrompt prompt, MockControls controls)
    {
        if (prompt.ToolResult is not null || prompt.Tools.Count == 0)
        {
            return null;
        }

        if (controls.ToolCall is { } name)
        {
            return prompt.Tools.FirstOrDefault(t => t.Name == name) is { Name: not null } offered ? offered : new MockTool(name, null);
        }

        return prompt.LastUserText.Contains("weather", StringComparison.OrdinalIgnoreCase) ? prompt.Tools[0] : null;
    }

    private static string Quote(string text)
    {
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length > QuoteLength ? text[..QuoteLength] : text;
    }

    private static string Arguments(string name, string value)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, MockJson.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString(name, value);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    // Providers stream arguments as token-sized pieces of the JSON text; never split a surrogate pair.
    private static string[] Fragments(string arguments)
    {
        var fragments = new List<string>();
        for (var start = 0; start < arguments.Length;)
        {
            var end = Math.Min(start + FragmentLength, arguments.Length);
            if (end < arguments.Length && char.IsHighSurrogate(arguments[end - 1]))
            {
                end++;
            }

            fragments.Add(arguments[start..end]);
            start = end;
        }

        return [.. fragments];
    }
}
