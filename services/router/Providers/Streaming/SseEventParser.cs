using System.Buffers;

namespace Gateway.Aspire.Router.Providers.Streaming;

/// <summary>
/// Splits a server-sent-event byte stream into events (WHATWG HTML, "event stream interpretation"):
/// lines end in LF, CRLF or CR; a blank line ends an event; <c>event:</c> names it, <c>data:</c>
/// lines are joined with LF, lines starting with <c>:</c> are comments, one space after the colon
/// is dropped. Bytes may arrive split anywhere; a partial line waits for the rest.
/// </summary>
/// <remarks>
/// Written by hand because no package on our feed parses SSE incrementally from pooled buffers
/// (System.Net.ServerSentEvents parses a Stream and allocates a string per event).
/// </remarks>
internal sealed class SseEventParser(IStreamTranslator translator) : IDisposable
{
    /// <summary>An event larger than this ends the stream with an error rather than buffering without bound.</summary>
    internal const int MaxEventBytes = 8 << 20;

    private readonly ArrayBufferWriter<byte> _name = new(32);
    private readonly ArrayBufferWriter<byte> _data = new(4096);
    private byte[] _pending = ArrayPool<byte>.Shared.Rent(4096);
    private int _pendingLength;
    private bool _hasData;
    private bool _lastWasCr;

    /// <summary>The translator events go to.</summary>
    public IStreamTranslator Translator => translator;

    /// <summary>Feeds upstream bytes; complete events are translated into <paramref name="output"/>.</summary>
    public void Process(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        while (input.Length > 0)
        {
            if (_lastWasCr)
            {
                // CRLF split across two reads: the LF belongs to the line already ended.
                _lastWasCr = false;
                if (input[0] == '\n')
                {
                    input = input[1..];
                    continue;
                }
            }

            var end = input.IndexOfAny((byte)'\n', (byte)'\r');
            if (end < 0)
            {
                Append(input);
                return;
            }

            Append(input[..end]);
            _lastWasCr = input[end] == '\r';
            if (_lastWasCr && end + 1 < input.Length && input[end + 1] == '\n')
            {
                _lastWasCr = false;
                end++;
            }

            input = input[(end + 1)..];
            Line(_pending.AsSpan(0, _pendingLength), output);
            _pendingLength = 0;
        }
    }

    /// <summary>The upstream ended: a last event without its blank line is still delivered, then the translator completes.</summary>
    public void Complete(IBufferWriter<byte> output)
    {
        if (_pendingLength > 0)
        {
            Line(_pending.AsSpan(0, _pendingLength), output);
            _pendingLength = 0;
        }

        Dispatch(output);
        translator.Complete(output);
    }

    public void Dispose()
    {
        if (_pending.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_pending);
            _pending = [];
        }
    }

    private void Line(ReadOnlySpan<byte> line, IBufferWriter<byte> output)
    {
        if (line.IsEmpty)
        {
            Dispatch(output);
            return;
        }

        if (line[0] == ':')
        {
            return; // comment (keep-alive)
        }

        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? default : line[(colon + 1)..];
        if (value.Length > 0 && value[0] == ' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                _data.Write("\n"u8);
            }

            _data.Write(value);
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            _name.ResetWrittenCount();
            _name.Write(value);
        }

        // id and retry mean nothing to a relayed LLM stream; unknown fields are ignored by the spec.
    }

    private void Dispatch(IBufferWriter<byte> output)
    {
        if (_hasData)
        {
            translator.OnEvent(_name.WrittenSpan, _data.WrittenSpan, output);
        }

        _hasData = false;
        _data.ResetWrittenCount();
        _name.ResetWrittenCount();
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_pendingLength + bytes.Length > _pending.Length)
        {
            if (_pendingLength + bytes.Length > MaxEventBytes)
            {
                throw new InvalidDataException($"An upstream stream line exceeds {MaxEventBytes} bytes.");
            }

            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_pending.Length * 2, _pendingLength + bytes.Length));
            _pending.AsSpan(0, _pendingLength).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_pending);
            _pending = bigger;
        }

        bytes.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += bytes.Length;
    }
}
