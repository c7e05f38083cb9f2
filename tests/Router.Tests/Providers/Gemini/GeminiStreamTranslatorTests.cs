using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Gemini;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Tests.Providers.Gemini;

public sealed class GeminiStreamTranslatorTests
{
    private const long Created = 1_767_225_600;

    // streamGenerateContent?alt=sse as Gemini sends it: unnamed events, CRLF line ends, usageMetadata on every piece.
    private const string TextStream =
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Bonjour\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 7,\"totalTokenCount\": 7,\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 7}]},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"s7r3amIdQx\"}\r\n\r\n"
        + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" et bienvenue\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 7,\"totalTokenCount\": 7},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"s7r3amIdQx\"}\r\n\r\n"
        + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" à \\\"Lyon\\\" !\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 7,\"candidatesTokenCount\": 9,\"totalTokenCount\": 40,\"thoughtsTokenCount\": 24},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"s7r3amIdQx\"}\r\n\r\n";

    private const string ToolStream =
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Checking both cities.\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 60,\"totalTokenCount\": 60},\"responseId\": \"fnC4ll5\"}\n\n"
        + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Oslo\"}},\"thoughtSignature\": \"CpwBAdHt\"},{\"functionCall\": {\"id\": \"fc-2\",\"name\": \"get_weather\",\"args\": {\"city\": \"Bergen\"}}}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 60,\"totalTokenCount\": 60},\"responseId\": \"fnC4ll5\"}\n\n"
        + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"id\": \"fc-3\",\"name\": \"get_time\",\"args\": {}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 60,\"candidatesTokenCount\": 31,\"totalTokenCount\": 91},\"responseId\": \"fnC4ll5\"}\n\n";

    private static (string Output, TokenUsage? Usage) Run(string stream, bool includeUsage, IEnumerable<int>? cuts = null, bool complete = true)
    {
        var translator = new GeminiStreamTranslator("gemini-flash", Created, includeUsage);
        using var parser = new SseEventParser(translator);
        var output = new ArrayBufferWriter<byte>();
        var bytes = Encoding.UTF8.GetBytes(stream);
        var start = 0;
        foreach (var cut in (cuts ?? []).Append(bytes.Length))
        {
            parser.Process(bytes.AsSpan(start, cut - start), output);
            start = cut;
        }

        if (complete)
        {
            parser.Complete(output);
        }

        return (Encoding.UTF8.GetString(output.WrittenSpan), translator.Usage);
    }

    /// <summary>The data of every event written, in order.</summary>
    private static List<string> Events(string output)
    {
        Assert.EndsWith("\n\n", output, StringComparison.Ordinal);
        var events = output.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        return [.. events.Select(e => e["data: ".Length..])];
    }

    private static JsonElement Json(string data)
    {
        using var document = JsonDocument.Parse(data);
        return document.RootElement.Clone();
    }

    private static JsonElement Delta(JsonElement chunk) => chunk.GetProperty("choices")[0].GetProperty("delta");

    private static string? FinishReason(JsonElement chunk) => chunk.GetProperty("choices")[0].GetProperty("finish_reason").GetString();

    [Fact]
    public void Text_stream_becomes_openai_chunks_ending_in_done()
    {
        var (output, usage) = Run(TextStream, includeUsage: false);

        var events = Events(output);
        Assert.Equal(5, events.Count);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(Json).ToList();
        Assert.All(chunks, c =>
        {
            Assert.Equal("chatcmpl-s7r3amIdQx", c.GetProperty("id").GetString());
            Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString());
            Assert.Equal(Created, c.GetProperty("created").GetInt64());
            Assert.Equal("gemini-flash", c.GetProperty("model").GetString());
            Assert.Equal(0, Assert.Single(c.GetProperty("choices").EnumerateArray()).GetProperty("index").GetInt32());
            Assert.False(c.TryGetProperty("usage", out _));
        });

        Assert.Equal("assistant", Delta(chunks[0]).GetProperty("role").GetString());
        Assert.Equal("Bonjour", Delta(chunks[0]).GetProperty("content").GetString());
        Assert.False(Delta(chunks[1]).TryGetProperty("role", out _));
        Assert.Equal(" et bienvenue", Delta(chunks[1]).GetProperty("content").GetString());
        Assert.Equal(" à \"Lyon\" !", Delta(chunks[2]).GetProperty("content").GetString());
        Assert.Equal([null, null, null, "stop"], chunks.Select(FinishReason));
        Assert.Empty(Delta(chunks[3]).EnumerateObject());
        Assert.Equal(new TokenUsage(7, 33, 0) { ReasoningTokens = 24 }, usage);
    }

    [Fact]
    public void Include_usage_adds_null_usage_to_chunks_and_a_usage_only_chunk_before_done()
    {
        var (output, usage) = Run(TextStream, includeUsage: true);

        var events = Events(output);
        Assert.Equal(6, events.Count);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(Json).ToList();
        Assert.All(chunks[..4], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));

        var last = chunks[4];
        Assert.Equal("chatcmpl-s7r3amIdQx", last.GetProperty("id").GetString());
        Assert.Empty(last.GetProperty("choices").EnumerateArray());
        var reported = last.GetProperty("usage");
        Assert.Equal(7, reported.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(33, reported.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(40, reported.GetProperty("total_tokens").GetInt32());
        Assert.Equal(0, reported.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(24, reported.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal(7, usage?.PromptTokens);
    }

    [Fact]
    public void Function_calls_stream_as_whole_tool_calls_numbered_per_choice()
    {
        var (output, _) = Run(ToolStream, includeUsage: false);

        var events = Events(output);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(Json).ToList();
        Assert.Equal(4, chunks.Count);
        Assert.Equal("Checking both cities.", Delta(chunks[0]).GetProperty("content").GetString());
        Assert.Equal("assistant", Delta(chunks[0]).GetProperty("role").GetString());

        var calls = Delta(chunks[1]).GetProperty("tool_calls").EnumerateArray().Concat(Delta(chunks[2]).GetProperty("tool_calls").EnumerateArray()).ToList();
        Assert.Equal([0, 1, 2], calls.Select(c => c.GetProperty("index").GetInt32()));
        Assert.StartsWith("call_", calls[0].GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(["fc-2", "fc-3"], calls.Skip(1).Select(c => c.GetProperty("id").GetString()));
        Assert.All(calls, c => Assert.Equal("function", c.GetProperty("type").GetString()));
        Assert.Equal(["get_weather", "get_weather", "get_time"], calls.Select(c => c.GetProperty("function").GetProperty("name").GetString()));
        using (var args = JsonDocument.Parse(calls[1].GetProperty("function").GetProperty("arguments").GetString()!))
        {
            Assert.Equal("Bergen", args.RootElement.GetProperty("city").GetString());
        }

        Assert.Equal("CpwBAdHt", calls[0].GetProperty("extra_content").GetProperty("google").GetProperty("thought_signature").GetString());
        Assert.Equal("tool_calls", FinishReason(chunks[3]));
    }

    [Fact]
    public void Splitting_the_upstream_bytes_anywhere_gives_the_same_output()
    {
        var (whole, wholeUsage) = Run(TextStream, includeUsage: true);
        var length = Encoding.UTF8.GetByteCount(TextStream);

        // Every single cut point (inside "à", inside CRLF, inside "data:") and reads of one byte.
        for (var cut = 1; cut < length; cut++)
        {
            var (split, splitUsage) = Run(TextStream, includeUsage: true, cuts: [cut]);
            Assert.Equal(whole, split);
            Assert.Equal(wholeUsage, splitUsage);
        }

        var (bytewise, _) = Run(TextStream, includeUsage: true, cuts: Enumerable.Range(1, length - 1));
        Assert.Equal(whole, bytewise);
    }

    [Fact]
    public void A_cut_off_stream_keeps_the_usage_seen_so_far()
    {
        var firstTwo = TextStream[..(TextStream.IndexOf("\r\n\r\n", TextStream.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4, StringComparison.Ordinal) + 4)];

        var (output, usage) = Run(firstTwo + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" à", includeUsage: true, complete: false);

        Assert.Equal(new TokenUsage(7, 0, 0), usage);
        var events = Events(output);
        Assert.Equal(2, events.Count);
        Assert.DoesNotContain("[DONE]", output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_error_in_the_stream_becomes_an_openai_error_event()
    {
        const string stream =
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Once upon\"}],\"role\": \"model\"},\"index\": 0}],\"responseId\": \"e1\"}\n\n"
            + "data: {\"error\": {\"code\": 503,\"message\": \"The model is overloaded. Please try again later.\",\"status\": \"UNAVAILABLE\"}}\n\n";

        var (output, usage) = Run(stream, includeUsage: false);

        var events = Events(output);
        Assert.Equal(3, events.Count);
        var error = Json(events[1]).GetProperty("error");
        Assert.Equal("The model is overloaded. Please try again later.", error.GetProperty("message").GetString());
        Assert.Equal("upstream_error", error.GetProperty("type").GetString());
        Assert.Equal("UNAVAILABLE", error.GetProperty("code").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal("[DONE]", events[2]);
        Assert.Null(usage);
    }

    [Fact]
    public void A_blocked_prompt_ends_choice_zero_with_content_filter()
    {
        const string stream =
            "data: {\"promptFeedback\": {\"blockReason\": \"PROHIBITED_CONTENT\"},\"usageMetadata\": {\"promptTokenCount\": 21,\"totalTokenCount\": 21},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"bl0\"}\n\n";

        var (output, usage) = Run(stream, includeUsage: true);

        var events = Events(output);
        Assert.Equal(3, events.Count);
        var chunk = Json(events[0]);
        Assert.Equal("assistant", Delta(chunk).GetProperty("role").GetString());
        Assert.Equal("content_filter", FinishReason(chunk));
        Assert.Equal(21, Json(events[1]).GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(new TokenUsage(21, 0, 0), usage);
    }

    [Fact]
    public void Two_candidates_interleave_as_two_choices_each_with_its_own_role_and_finish()
    {
        const string stream =
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Tea\"}],\"role\": \"model\"}},{\"content\": {\"parts\": [{\"text\": \"Coffee\"}],\"role\": \"model\"},\"index\": 1}],\"responseId\": \"n2\"}\n\n"
            + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \".\"}],\"role\": \"model\"},\"finishReason\": \"STOP\"},{\"content\": {\"parts\": [{\"text\": \",\"}],\"role\": \"model\"},\"finishReason\": \"MAX_TOKENS\",\"index\": 1}],\"responseId\": \"n2\"}\n\n";

        var (output, _) = Run(stream, includeUsage: false);

        var chunks = Events(output)[..^1].Select(Json).ToList();
        var byChoice = chunks.GroupBy(c => c.GetProperty("choices")[0].GetProperty("index").GetInt32()).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal([0, 1], byChoice.Keys.Order());
        foreach (var (_, choice) in byChoice)
        {
            Assert.Equal("assistant", Delta(choice[0]).GetProperty("role").GetString());
            Assert.Single(choice, c => Delta(c).TryGetProperty("role", out _));
        }

        Assert.Equal("Tea.", string.Concat(byChoice[0].Select(c => Delta(c).TryGetProperty("content", out var t) ? t.GetString() : "")));
        Assert.Equal("stop", FinishReason(byChoice[0][^1]));
        Assert.Equal("length", FinishReason(byChoice[1][^1]));
    }

    [Fact]
    public void An_event_that_is_not_json_is_invalid_data()
    {
        var translator = new GeminiStreamTranslator("m", Created, includeUsage: false);

        Assert.Throws<InvalidDataException>(() => translator.OnEvent(default, "{\"candidates\": [ oops"u8, new ArrayBufferWriter<byte>()));
    }
}
