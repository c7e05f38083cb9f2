using System.Text;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Anthropic;

namespace Gateway.Aspire.Router.Tests.Providers.Anthropic;

public sealed class AnthropicPassThroughStreamTests
{
    [Fact]
    public void Every_event_is_relayed_unchanged_and_usage_follows_message_start_and_message_delta()
    {
        var relay = new AnthropicPassThroughStream();

        var output = AnthropicStreams.Run(relay, [AnthropicStreams.ToolUse]);

        Assert.Equal(AnthropicStreams.ToolUse, output);
        Assert.Equal(new TokenUsage(2620, 89, 2048) { CacheWriteTokens = 100 }, relay.Usage);
    }

    [Fact]
    public void Events_split_at_every_byte_are_relayed_whole()
    {
        var relay = new AnthropicPassThroughStream();

        var output = AnthropicStreams.Run(relay, AnthropicStreams.Text.Select(c => c.ToString()));

        Assert.Equal(AnthropicStreams.Text, output);
        Assert.Equal(12, relay.Usage?.CompletionTokens);
    }

    [Fact]
    public void A_cut_off_stream_keeps_the_usage_seen_so_far()
    {
        var relay = new AnthropicPassThroughStream();
        var cut = AnthropicStreams.Text[..AnthropicStreams.Text.IndexOf("event: message_delta", StringComparison.Ordinal)];

        AnthropicStreams.Run(relay, [cut], complete: false);

        Assert.Equal(new TokenUsage(2620, 2, 2048) { CacheWriteTokens = 100 }, relay.Usage);
    }

    [Fact]
    public void Multi_line_data_is_relayed_as_several_data_lines()
    {
        var relay = new AnthropicPassThroughStream();

        var output = AnthropicStreams.Run(relay, ["event: ping\ndata: {\"type\":\ndata: \"ping\"}\n\n"]);

        Assert.Equal("event: ping\ndata: {\"type\":\ndata: \"ping\"}\n\n", output);
    }

    [Fact]
    public void A_malformed_usage_event_is_relayed_and_only_its_usage_is_lost()
    {
        var relay = new AnthropicPassThroughStream();

        var output = AnthropicStreams.Run(relay, ["event: message_start\ndata: {\"type\":\"message_start\",\"mess\n\n"]);

        Assert.Equal("event: message_start\ndata: {\"type\":\"message_start\",\"mess\n\n", output);
        Assert.Null(relay.Usage);
    }
}
