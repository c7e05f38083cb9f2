using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Anthropic;

namespace Gateway.Aspire.Router.Tests.Providers.Anthropic;

public sealed class AnthropicResponseTranslatorTests
{
    private const long Created = 1_767_225_600;

    private static (string Body, TokenUsage Usage) Translate(string anthropicMessage)
    {
        var body = AnthropicResponseTranslator.Translate(Encoding.UTF8.GetBytes(anthropicMessage), Created, out var usage);
        return (Encoding.UTF8.GetString(body), usage);
    }

    private static string Message(string content, string stopReason, string usage = """{"input_tokens": 25, "output_tokens": 12}""") => $$"""
        {
          "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
          "type": "message",
          "role": "assistant",
          "model": "claude-sonnet-4-5-20250929",
          "content": {{content}},
          "stop_reason": "{{stopReason}}",
          "stop_sequence": null,
          "usage": {{usage}}
        }
        """;

    [Fact]
    public void Text_response_becomes_a_chat_completion()
    {
        var (body, usage) = Translate(Message("""[{"type": "text", "text": "Paris is the capital "}, {"type": "text", "text": "of France."}]""", "end_turn"));

        JsonAssert.Equal($$$"""
            {
              "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
              "object": "chat.completion",
              "created": {{{Created}}},
              "model": "claude-sonnet-4-5-20250929",
              "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Paris is the capital of France.", "refusal": null},
                "logprobs": null,
                "finish_reason": "stop"
              }],
              "usage": {"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37, "prompt_tokens_details": {"cached_tokens": 0}}
            }
            """, body);
        Assert.Equal(new TokenUsage(25, 12, 0), usage);
    }

    [Fact]
    public void Tool_use_response_becomes_tool_calls_with_null_content()
    {
        var (body, _) = Translate(Message("""
            [{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Lyon", "unit": "celsius"}}]
            """, "tool_use"));

        JsonAssert.Equal("""
            {"role": "assistant", "content": null, "refusal": null, "tool_calls": [
              {"id": "toolu_01A09q90qw90lq917835lq9", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Lyon\", \"unit\": \"celsius\"}"}}
            ]}
            """, JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetRawText());
        Assert.Equal("tool_calls", JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public void Mixed_text_thinking_and_tool_use_keep_text_and_calls_and_leave_thinking_out()
    {
        var (body, _) = Translate(Message("""
            [
              {"type": "thinking", "thinking": "The user wants two cities.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
              {"type": "text", "text": "I'll check both cities."},
              {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Lyon"}},
              {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"city": "Nice"}}
            ]
            """, "tool_use"));

        var message = JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("I'll check both cities.", message.GetProperty("content").GetString());
        Assert.Equal(["toolu_01", "toolu_02"], message.GetProperty("tool_calls").EnumerateArray().Select(c => c.GetProperty("id").GetString()!));
        Assert.Equal("""{"city": "Nice"}""", message.GetProperty("tool_calls")[1].GetProperty("function").GetProperty("arguments").GetString());
        Assert.False(message.TryGetProperty("reasoning_content", out _));
    }

    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("model_context_window_exceeded", "length")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("refusal", "content_filter")]
    [InlineData("pause_turn", "stop")]
    public void Every_stop_reason_maps_to_a_finish_reason(string stopReason, string finishReason)
    {
        var content = stopReason == "tool_use"
            ? """[{"type": "tool_use", "id": "toolu_01", "name": "get_time", "input": {}}]"""
            : """[{"type": "text", "text": "Partial answer"}]""";

        var (body, _) = Translate(Message(content, stopReason));

        Assert.Equal(finishReason, JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public void Usage_with_cache_reads_and_writes_counts_them_in_the_prompt()
    {
        var (body, usage) = Translate(Message(
            """[{"type": "text", "text": "Summary of the contract."}]""",
            "end_turn",
            """{"input_tokens": 21, "cache_creation_input_tokens": 1200, "cache_read_input_tokens": 8000, "cache_creation": {"ephemeral_5m_input_tokens": 1200, "ephemeral_1h_input_tokens": 0}, "output_tokens": 393, "service_tier": "standard"}"""));

        JsonAssert.Equal("""
            {"prompt_tokens": 9221, "completion_tokens": 393, "total_tokens": 9614, "prompt_tokens_details": {"cached_tokens": 8000}}
            """, JsonDocument.Parse(body).RootElement.GetProperty("usage").GetRawText());
        Assert.Equal(new TokenUsage(9221, 393, 8000) { CacheWriteTokens = 1200 }, usage);
    }

    [Fact]
    public void Json_response_tool_call_becomes_the_text_content_with_finish_reason_stop()
    {
        var (body, _) = Translate(Message($$$"""
            [{"type": "tool_use", "id": "toolu_01", "name": "{{{AnthropicRequestTranslator.JsonResponseTool}}}", "input": {"name": "Ana", "age": 34}}]
            """, "tool_use"));

        var choice = JsonDocument.Parse(body).RootElement.GetProperty("choices")[0];
        JsonAssert.Equal("""{"name": "Ana", "age": 34}""", choice.GetProperty("message").GetProperty("content").GetString()!);
        Assert.False(choice.GetProperty("message").TryGetProperty("tool_calls", out _));
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public void Empty_content_gives_null_content()
    {
        var (body, _) = Translate(Message("[]", "end_turn"));

        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").ValueKind);
    }

    [Theory]
    [InlineData("<html>502 Bad Gateway</html>")]
    [InlineData("""{"id": "msg_01", "type": "message"}""")]
    [InlineData("[]")]
    public void Upstream_bodies_that_are_not_messages_are_invalid_data_not_client_errors(string upstream)
    {
        Assert.Throws<InvalidDataException>(() => Translate(upstream));
    }
}
