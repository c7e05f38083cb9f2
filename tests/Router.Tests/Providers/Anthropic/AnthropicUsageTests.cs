using System.Text;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Anthropic;

namespace Gateway.Aspire.Router.Tests.Providers.Anthropic;

public sealed class AnthropicUsageTests
{
    [Fact]
    public void Usage_of_a_whole_message_includes_cache_reads_and_writes_in_the_prompt()
    {
        var message = """
            {"id":"msg_01","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"Hi"}],
             "stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":4000,"output_tokens":5}}
            """;

        Assert.True(AnthropicUsage.TryRead(Encoding.UTF8.GetBytes(message), out var usage));
        Assert.Equal(new TokenUsage(4312, 5, 4000) { CacheWriteTokens = 300 }, usage);
    }

    [Fact]
    public void Usage_of_a_message_start_event_is_read_from_its_message()
    {
        var data = AnthropicStreams.MessageStart.Split('\n')[1]["data: ".Length..];

        Assert.True(AnthropicUsage.TryRead(Encoding.UTF8.GetBytes(data), out var usage));
        Assert.Equal(new TokenUsage(2620, 2, 2048) { CacheWriteTokens = 100 }, usage);
    }

    [Fact]
    public void Usage_of_a_lone_message_delta_is_what_it_carries()
    {
        Assert.True(AnthropicUsage.TryRead("""{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"""u8, out var usage));
        Assert.Equal(new TokenUsage(0, 15, 0), usage);
    }

    [Theory]
    [InlineData("""{"type":"ping"}""")]
    [InlineData("""{"type":"content_block_stop","index":0}""")]
    [InlineData("not json")]
    [InlineData("")]
    public void Bodies_without_usage_give_false(string body)
    {
        Assert.False(AnthropicUsage.TryRead(Encoding.UTF8.GetBytes(body), out var usage));
        Assert.Equal(default, usage);
    }
}
