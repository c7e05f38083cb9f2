using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Gemini;

namespace Gateway.Aspire.Router.Tests.Providers.Gemini;

public sealed class GeminiResponseTranslatorTests
{
    private const long Created = 1_767_225_600;

    private static JsonElement Translate(string geminiResponse, out TokenUsage usage)
    {
        var body = GeminiResponseTranslator.Translate(Encoding.UTF8.GetBytes(geminiResponse), "gemini-flash", Created, out usage);
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    private static JsonElement Translate(string geminiResponse) => Translate(geminiResponse, out _);

    [Fact]
    public void Text_answer_becomes_a_chat_completion()
    {
        var completion = Translate("""
            {
              "candidates": [{
                "content": {"parts": [{"text": "Lyon is about two hours "}, {"text": "from Paris by TGV."}], "role": "model"},
                "finishReason": "STOP",
                "index": 0
              }],
              "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 11, "totalTokenCount": 23,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}]},
              "modelVersion": "gemini-2.5-flash",
              "responseId": "Xk9jaPq3Lb2Tz7IPr4XQ"
            }
            """, out var usage);

        Assert.Equal("chatcmpl-Xk9jaPq3Lb2Tz7IPr4XQ", completion.GetProperty("id").GetString());
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        Assert.Equal(Created, completion.GetProperty("created").GetInt64());
        Assert.Equal("gemini-flash", completion.GetProperty("model").GetString()); // the caller's name, not modelVersion
        var choice = Assert.Single(completion.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("Lyon is about two hours from Paris by TGV.", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.False(choice.GetProperty("message").TryGetProperty("tool_calls", out _));
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(new TokenUsage(12, 11, 0), usage);
        Assert.Equal(23, completion.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public void Function_calls_become_tool_calls_and_thoughts_are_left_out()
    {
        var completion = Translate("""
            {
              "candidates": [{
                "content": {"role": "model", "parts": [
                  {"text": "The user wants weather for two cities.", "thought": true},
                  {"functionCall": {"name": "get_weather", "args": {"city": "Oslo", "unit": "c"}}, "thoughtSignature": "CpwBAdHtim9sig=="},
                  {"functionCall": {"name": "get_weather", "args": {"city": "Bergen"}}},
                  {"functionCall": {"id": "fc-7781", "name": "get_time"}}
                ]},
                "finishReason": "STOP"
              }],
              "usageMetadata": {"promptTokenCount": 80, "candidatesTokenCount": 41, "thoughtsTokenCount": 17, "totalTokenCount": 138},
              "responseId": "t00lCa11s"
            }
            """);

        var choice = completion.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        var calls = message.GetProperty("tool_calls").EnumerateArray().ToList();
        Assert.Equal(3, calls.Count);
        Assert.All(calls, c => Assert.Equal("function", c.GetProperty("type").GetString()));
        Assert.All(calls, c => Assert.False(c.TryGetProperty("index", out _)));
        Assert.StartsWith("call_", calls[0].GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.NotEqual(calls[0].GetProperty("id").GetString(), calls[1].GetProperty("id").GetString());
        Assert.Equal("fc-7781", calls[2].GetProperty("id").GetString());

        var first = calls[0].GetProperty("function");
        Assert.Equal("get_weather", first.GetProperty("name").GetString());
        using (var args = JsonDocument.Parse(first.GetProperty("arguments").GetString()!))
        {
            Assert.Equal("Oslo", args.RootElement.GetProperty("city").GetString());
            Assert.Equal("c", args.RootElement.GetProperty("unit").GetString());
        }

        Assert.Equal("CpwBAdHtim9sig==", calls[0].GetProperty("extra_content").GetProperty("google").GetProperty("thought_signature").GetString());
        Assert.False(calls[1].TryGetProperty("extra_content", out _));
        Assert.Equal("{}", calls[2].GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public void Every_candidate_becomes_a_choice_at_its_index()
    {
        var completion = Translate("""
            {
              "candidates": [
                {"content": {"parts": [{"text": "Roses are red."}], "role": "model"}, "finishReason": "STOP"},
                {"content": {"parts": [{"text": "Violets are"}], "role": "model"}, "finishReason": "MAX_TOKENS", "index": 1},
                {"content": {"parts": [{"text": "Sugar is sweet."}], "role": "model"}, "finishReason": "STOP", "index": 2}
              ],
              "usageMetadata": {"promptTokenCount": 6, "candidatesTokenCount": 14, "totalTokenCount": 20},
              "responseId": "m4nyC4nd5"
            }
            """);

        var choices = completion.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(["Roses are red.", "Violets are", "Sugar is sweet."], choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()));
        Assert.Equal(["stop", "length", "stop"], choices.Select(c => c.GetProperty("finish_reason").GetString()));
    }

    [Theory]
    [InlineData("STOP", "stop")]
    [InlineData("MAX_TOKENS", "length")]
    [InlineData("SAFETY", "content_filter")]
    [InlineData("RECITATION", "content_filter")]
    [InlineData("BLOCKLIST", "content_filter")]
    [InlineData("PROHIBITED_CONTENT", "content_filter")]
    [InlineData("SPII", "content_filter")]
    [InlineData("IMAGE_SAFETY", "content_filter")]
    [InlineData("LANGUAGE", "stop")]
    [InlineData("OTHER", "stop")]
    [InlineData("MALFORMED_FUNCTION_CALL", "stop")]
    [InlineData("FINISH_REASON_UNSPECIFIED", "stop")]
    public void Finish_reasons_map_to_openai(string geminiReason, string openAiReason)
    {
        var completion = Translate($$$"""
            {"candidates": [{"content": {"parts": [{"text": "Partial answer"}], "role": "model"}, "finishReason": "{{{geminiReason}}}", "index": 0}],
             "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7}}
            """);

        Assert.Equal(openAiReason, completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public void A_candidate_stopped_for_safety_without_content_has_null_content()
    {
        var completion = Translate("""
            {"candidates": [{"finishReason": "SAFETY", "index": 0,
              "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}]}],
             "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}}
            """);

        var choice = completion.GetProperty("choices")[0];
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty("content").ValueKind);
        Assert.Equal("content_filter", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public void A_blocked_prompt_becomes_one_filtered_choice_with_null_content()
    {
        var completion = Translate("""
            {
              "promptFeedback": {"blockReason": "SAFETY",
                "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}]},
              "usageMetadata": {"promptTokenCount": 14, "totalTokenCount": 14},
              "modelVersion": "gemini-2.5-flash",
              "responseId": "bl0ck3d"
            }
            """, out var usage);

        var choice = Assert.Single(completion.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty("content").ValueKind);
        Assert.Equal("content_filter", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(new TokenUsage(14, 0, 0), usage);
    }

    [Fact]
    public void Usage_includes_cached_tokens_in_the_prompt_and_thoughts_in_the_completion()
    {
        var completion = Translate("""
            {
              "candidates": [{"content": {"parts": [{"text": "Summary: the contract renews yearly."}], "role": "model"}, "finishReason": "STOP", "index": 0}],
              "usageMetadata": {
                "promptTokenCount": 12840,
                "candidatesTokenCount": 152,
                "totalTokenCount": 13829,
                "cachedContentTokenCount": 11200,
                "thoughtsTokenCount": 837,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12840}],
                "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 11200}]
              },
              "responseId": "c4ch3d"
            }
            """, out var usage);

        Assert.Equal(new TokenUsage(12840, 989, 11200) { ReasoningTokens = 837 }, usage);
        var openAiUsage = completion.GetProperty("usage");
        Assert.Equal(12840, openAiUsage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(989, openAiUsage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(13829, openAiUsage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(11200, openAiUsage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(837, openAiUsage.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
    }

    [Fact]
    public void Without_response_id_or_usage_the_id_is_fresh_and_usage_is_absent()
    {
        var completion = Translate("""{"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "finishReason": "STOP"}]}""", out var usage);

        var id = completion.GetProperty("id").GetString()!;
        Assert.StartsWith("chatcmpl-", id, StringComparison.Ordinal);
        Assert.True(id.Length > "chatcmpl-".Length + 16);
        Assert.False(completion.TryGetProperty("usage", out _));
        Assert.Equal(default, usage);
    }

    [Theory]
    [InlineData("{\"candidates\": [")]
    [InlineData("<html>Bad Gateway</html>")]
    [InlineData("[1,2]")]
    [InlineData("{\"candidates\": {\"content\": 1}}")]
    [InlineData("{\"candidates\": [{\"content\": {\"parts\": [{\"text\": 42}]}}]}")]
    [InlineData("{\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"args\": {}}}]}}]}")]
    [InlineData("{\"candidates\": [{\"index\": \"zero\"}]}")]
    [InlineData("{\"candidates\": [], \"usageMetadata\": {\"promptTokenCount\": \"many\"}}")]
    public void Malformed_upstream_bodies_are_invalid_data(string body)
    {
        Assert.Throws<InvalidDataException>(() => GeminiResponseTranslator.Translate(Encoding.UTF8.GetBytes(body), "m", Created, out _));
    }
}
