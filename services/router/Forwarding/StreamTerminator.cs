using Gateway.Aspire.Router.Providers;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// Watches the raw bytes of an upstream stream for the event that ends it in the provider's format
/// (OpenAI <c>data: [DONE]</c>, Anthropic <c>message_stop</c>), so a stream that closes without it is
/// known to be cut off rather than passed on as a clean end.
/// </summary>
/// <remarks>
/// Keeps only the last eight non-whitespace bytes, packed in a <see cref="ulong"/>: no allocation and
/// a few instructions a byte, and both terminators end a stream (only whitespace may follow). Gemini
/// streams have no terminator event (the connection just ends), so they always count as complete.
/// </remarks>
internal struct StreamTerminator
{
    // "a:[DONE]" and "e_stop\"}" as the last eight non-whitespace bytes, first byte most significant.
    private static readonly ulong s_openAi = Pack("a:[DONE]"u8);
    private static readonly ulong s_anthropic = Pack("e_stop\"}"u8);

    private readonly ulong _expected;
    private ulong _tail;

    /// <summary>Watches a stream in <paramref name="format"/>.</summary>
    public StreamTerminator(WireFormat format) => _expected = format switch
    {
        WireFormat.OpenAi => s_openAi,
        WireFormat.Anthropic => s_anthropic,
        _ => 0,
    };

    /// <summary>Whether the bytes seen so far end with the terminator (always true for formats without one).</summary>
    public readonly bool Seen => _expected == 0 || _tail == _expected;

    /// <summary>Feeds the next bytes read from upstream.</summary>
    public void Observe(ReadOnlySpan<byte> bytes)
    {
        if (_expected == 0)
        {
            return;
        }

        foreach (var b in bytes)
        {
            if (b is not ((byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            {
                _tail = (_tail << 8) | b;
            }
        }
    }

    private static ulong Pack(ReadOnlySpan<byte> eight)
    {
        ulong value = 0;
        foreach (var b in eight)
        {
            value = (value << 8) | b;
        }

        return value;
    }
}
