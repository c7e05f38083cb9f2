using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Messages;

namespace Gateway.Aspire.Router.Tests.Messages;

public sealed class MessagesResponseTranslatorTests
{
    private const string Model = "gpt-4o-mini";

    private static JsonElement Translate(string completion) =>
        JsonDocument.Parse(MessagesResponseTranslator.Translate(Encoding.UTF8.GetBytes(completion), Model)).RootElement;

    private static string Completion(string message, string finishReason, string usage = """{"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29}""") => $$"""
        {
          "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
          "object": "chat.completion",
          "created": 1741569952,
          "model": "gpt-4o-mini-2024-07-18",
          "choices": [{"index": 0, "message": {{message}}, "logprobs": null, "finish_reason": {{finishReason}}}],
          "usage": {{usage}},
          "system_fingerprint": "fp_06737a9306"
        }
        """;

    [Fact]
    public void Text_answer_becomes_a_message_with_one_text_block()
    {
        var message = Translate(Completion("""{"role": "assistant", "content": "The sky scatters blue light most.", "refusal": null, "annotations": []}""", "\"stop\""));

        Assert.Equal("msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT", message.GetProperty("id").GetString());
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(Model, message.GetProperty("model").GetString());
        var content = message.GetProperty("content");
        Assert.Equal(1, content.GetArrayLength());
        Assert.Equal("text", content[0].GetProperty("type").GetString());
        Assert.Equal("The sky scatters blue light most.", content[0].GetProperty("text").GetString());
        Assert.Equal("end_turn", message.GetProperty("stop_reason").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("stop_sequence").ValueKind);
        var usage = message.GetProperty("usage");
        Assert.Equal(19, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(10, usage.GetProperty("output_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("cache_read_input_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("cache_creation_input_tokens").GetInt32());
    }

    [Fact]
    public void Tool_calls_become_tool_use_blocks_with_parsed_input()
    {
        var message = Translate(Completion("""
            {"role": "assistant", "content": "Checking both cities.", "tool_calls": [
              {"id": "call_Dn2RJJSxzDm49vlVTehseJ0k", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"units\":\"metric\"}"}},
              {"id": "call_bF4dXFTWqfLTnLdxmVqLsb6Q", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}}
            ]}
            """, "\"tool_calls\""));

        var content = message.GetProperty("content");
        Assert.Equal(["text", "tool_use", "tool_use"], content.EnumerateArray().Select(b => b.GetProperty("type").GetString()));
        Assert.Equal("Checking both cities.", content[0].GetProperty("text").GetString());
        Assert.Equal("call_Dn2RJJSxzDm49vlVTehseJ0k", content[1].GetProperty("id").GetString());
        Assert.Equal("get_weather", content[1].GetProperty("name").GetString());
        Assert.Equal("Paris", content[1].GetProperty("input").GetProperty("city").GetString());
        Assert.Equal("metric", content[1].GetProperty("input").GetProperty("units").GetString());
        Assert.Equal("call_bF4dXFTWqfLTnLdxmVqLsb6Q", content[2].GetProperty("id").GetString());
        Assert.Equal("Rome", content[2].GetProperty("input").GetProperty("city").GetString());
        Assert.Equal("tool_use", message.GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void Null_content_with_tool_calls_gives_no_text_block_and_malformed_arguments_give_an_empty_input()
    {
        var message = Translate(Completion("""
            {"role": "assistant", "content": null, "tool_calls": [
              {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\"query\": \"aspire gateway"}},
              {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}},
              {"type": "function", "function": {"name": "list", "arguments": "[1,2]"}}
            ]}
            """, "\"length\""));

        var content = message.GetProperty("content");
        Assert.Equal(3, content.GetArrayLength());
        Assert.All(content.EnumerateArray(), b => Assert.Equal("{}", b.GetProperty("input").GetRawText()));
        Assert.StartsWith("toolu_", content[2].GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("max_tokens", message.GetProperty("stop_reason").GetString());
    }

    [Theory]
    [InlineData("\"stop\"", "end_turn")]
    [InlineData("\"length\"", "max_tokens")]
    [InlineData("\"tool_calls\"", "tool_use")]
    [InlineData("\"function_call\"", "tool_use")]
    [InlineData("\"content_filter\"", "refusal")]
    [InlineData("null", "end_turn")]
    public void Finish_reasons_map_to_stop_reasons(string finishReason, string stopReason)
    {
        var message = Translate(Completion("""{"role": "assistant", "content": "ok"}""", finishReason));

        Assert.Equal(stopReason, message.GetProperty("stop_reason").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("stop_sequence").ValueKind);
    }

    [Fact]
    public void Cached_prompt_tokens_are_taken_out_of_input_tokens_and_reported_as_cache_reads()
    {
        var message = Translate(Completion(
            """{"role": "assistant", "content": "Done."}""",
            "\"stop\"",
            """
            {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
             "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
            """));

        var usage = message.GetProperty("usage");
        Assert.Equal(86, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(1920, usage.GetProperty("cache_read_input_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("cache_creation_input_tokens").GetInt32());
        Assert.Equal(300, usage.GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public void Refusal_without_content_becomes_the_text()
    {
        var message = Translate(Completion("""{"role": "assistant", "content": null, "refusal": "I can't help with that."}""", "\"content_filter\""));

        Assert.Equal("I can't help with that.", message.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("refusal", message.GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void Empty_content_gives_an_empty_content_array_and_missing_usage_gives_zeros()
    {
        var message = Translate("""{"id": "cmpl-7f3a", "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]}""");

        Assert.Equal("msg_cmpl-7f3a", message.GetProperty("id").GetString());
        Assert.Equal(0, message.GetProperty("content").GetArrayLength());
        Assert.Equal(0, message.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(0, message.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public void A_completion_without_an_id_gets_a_new_message_id()
    {
        var message = Translate("""{"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}""");

        Assert.Matches("^msg_[0-9a-f]{32}$", message.GetProperty("id").GetString());
    }

    [Fact]
    public void Any_value_of_the_wrong_type_anywhere_gives_invalid_data_or_a_message_never_another_exception()
    {
        var valid = Completion(
            """{"role": "assistant", "content": "Hi", "refusal": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}""",
            "\"tool_calls\"",
            """{"prompt_tokens": 20, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 4}}""");

        foreach (var variant in JsonMutations.Of(valid))
        {
            try
            {
                Assert.Equal("message", JsonDocument.Parse(MessagesResponseTranslator.Translate(Encoding.UTF8.GetBytes(variant), Model)).RootElement.GetProperty("type").GetString());
            }
            catch (InvalidDataException)
            {
                // The upstream's fault: the router answers 502.
            }
        }
    }

    [Theory]
    [InlineData("""{"id": "chatcmpl-1", "choices": [""")]
    [InlineData("<html>502 Bad Gateway</html>")]
    [InlineData("""{"id": "chatcmpl-1", "choices": []}""")]
    [InlineData("""{"id": "chatcmpl-1", "choices": [{"index": 0, "finish_reason": "stop"}]}""")]
    [InlineData("""{"choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function"}]}}]}""")]
    [InlineData("[]")]
    public void An_upstream_answer_that_is_not_a_chat_completion_is_invalid_data(string body)
    {
        Assert.Throws<InvalidDataException>(() => MessagesResponseTranslator.Translate(Encoding.UTF8.GetBytes(body), Model));
    }
}
