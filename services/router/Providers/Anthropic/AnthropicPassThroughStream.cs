using System.Buffers;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Providers.Anthropic;

/// <summary>
/// Relays an Anthropic stream to an Anthropic-format client unchanged, event name and data,
/// while following its usage (<c>message_start</c>, then the cumulative <c>message_delta</c>
/// counts) so that a stream cut off midway is still billed with the tokens seen so far.
/// </summary>
/// <remarks>
/// Only <c>message_start</c> and <c>message_delta</c> are parsed; an event that is not valid JSON
/// is relayed as it came and only its usage is lost: judging the upstream's bytes is the client's
/// SDK's business on this path.
/// </remarks>
internal sealed class AnthropicPassThroughStream : IStreamTranslator
{
    private readonly AnthropicUsageAccumulator _usage = new();

    /// <inheritdoc />
    public TokenUsage? Usage => _usage.Usage;

    /// <inheritdoc />
    public void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (name.SequenceEqual("message_start"u8) || name.SequenceEqual("message_delta"u8))
        {
            using var document = AnthropicJson.TryParse(data);
            if (document is not null)
            {
                _usage.Observe(document.RootElement);
            }
        }

        if (data.IndexOf((byte)'\n') < 0)
        {
            SseEventWriter.WriteRaw(output, name, data);
            return;
        }

        // The parser joined several data: lines with LF; each goes back on its own line, or the
        // client would read the later ones as unknown fields.
        WriteMultiLine(output, name, data);
    }

    /// <summary>Writes nothing: the upstream's own <c>message_stop</c> has already been relayed.</summary>
    public void Complete(IBufferWriter<byte> output)
    {
    }

    private static void WriteMultiLine(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> data)
    {
        if (!name.IsEmpty)
        {
            output.Write("event: "u8);
            output.Write(name);
            output.Write("\n"u8);
        }

        foreach (var range in data.Split((byte)'\n'))
        {
            output.Write("data: "u8);
            output.Write(data[range]);
            output.Write("\n"u8);
        }

        output.Write("\n"u8);
    }
}
