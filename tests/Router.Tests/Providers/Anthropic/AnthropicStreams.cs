using System.Buffers;
using System.Text;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Tests.Providers.Anthropic;

/// <summary>Anthropic Messages streams in the documented event sequence, and a way to run them through a translator.</summary>
internal static class AnthropicStreams
{
    public const string MessageStart = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":100,"cache_read_input_tokens":2048,"output_tokens":2}}}


        """;

    /// <summary>A text answer: start, a ping, two text deltas, the stop reason with the final output count, stop.</summary>
    public const string Text = MessageStart + """
        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Paris is"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the capital of France."}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}}

        event: message_stop
        data: {"type":"message_stop"}


        """;

    /// <summary>Text, then two tool calls whose input arrives in several <c>input_json_delta</c> pieces.</summary>
    public const string ToolUse = MessageStart + """
        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking both."}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Ly"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"on\", \"unit\": \"cel"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"sius\"}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":1}

        event: content_block_start
        data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Nice\"}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":2}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

        event: message_stop
        data: {"type":"message_stop"}


        """;

    /// <summary>Runs a stream, given in <paramref name="pieces"/>, through a parser and <paramref name="translator"/> as they would arrive; completes unless told not to.</summary>
    public static string Run(IStreamTranslator translator, IEnumerable<string> pieces, bool complete = true)
    {
        using var parser = new SseEventParser(translator);
        var output = new ArrayBufferWriter<byte>();
        foreach (var piece in pieces)
        {
            parser.Process(Encoding.UTF8.GetBytes(piece), output);
        }

        if (complete)
        {
            parser.Complete(output);
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>The data of each OpenAI-style event (data-only events, as OpenAI sends them).</summary>
    public static List<string> DataEvents(string output)
    {
        var events = output.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.All(events, e => Assert.DoesNotContain('\n', e));
        return [.. events.Select(e => e["data: ".Length..])];
    }
}
