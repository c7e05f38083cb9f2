using System.Buffers;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// Relays a server-sent-event stream event by event while picking the billing <c>usage</c> out
/// of it. Upstream bytes are read straight into this relay's buffer (<see cref="GetMemory"/>,
/// <see cref="Advance"/>); <see cref="Relay"/> then copies every complete event to the client and
/// keeps a partial one until the rest arrives, so events split across reads are never torn.
/// </summary>
/// <remarks>
/// Only events whose bytes contain <c>"usage"</c> are parsed at all; the others are copied
/// untouched. When the router injected <c>include_usage</c>, the usage-only chunk
/// (<c>"choices": []</c>) is dropped so the client sees exactly the stream it asked for.
/// </remarks>
internal sealed class SseUsageRelay(bool dropUsageOnlyChunk) : IDisposable
{
    /// <summary>An event larger than this is relayed in pieces without being inspected.</summary>
    internal const int MaxEventBytes = 1 << 20;

    private const int MinRead = 4096;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _start;
    private int _end;
    private int _scanned;

    /// <summary>Usage found in the stream, if any.</summary>
    public TokenUsage? Usage { get; private set; }

    /// <summary>Memory to read the next upstream bytes into.</summary>
    public Memory<byte> GetMemory()
    {
        if (_buffer.Length - _end < MinRead)
        {
            var pending = _end - _start;
            var target = pending + MinRead > _buffer.Length ? ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, pending + MinRead)) : _buffer;
            _buffer.AsSpan(_start, pending).CopyTo(target);
            if (!ReferenceEquals(target, _buffer))
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = target;
            }

            _scanned -= _start;
            _start = 0;
            _end = pending;
        }

        return _buffer.AsMemory(_end);
    }

    /// <summary>Records that <paramref name="count"/> bytes were read into <see cref="GetMemory"/>.</summary>
    public void Advance(int count) => _end += count;

    /// <summary>Writes every complete event to <paramref name="output"/>; returns the bytes written.</summary>
    public int Relay(IBufferWriter<byte> output)
    {
        var written = 0;
        while (true)
        {
            var pending = _buffer.AsSpan(_start, _end - _start);
            var end = FindEventEnd(pending, _scanned - _start);
            if (end < 0)
            {
                _scanned = Math.Max(_start, _end - 2); // a terminator may straddle this read and the next
                if (pending.Length >= MaxEventBytes)
                {
                    // Pathological upstream: relay what we have rather than buffer without bound.
                    output.Write(pending);
                    written += pending.Length;
                    _start = _end = _scanned = 0;
                }

                return written;
            }

            var evt = pending[..end];
            if (!ShouldDrop(evt))
            {
                output.Write(evt);
                written += evt.Length;
            }

            _start += end;
            _scanned = _start;
        }
    }

    /// <summary>Writes whatever is left (a last event without its blank line) when the upstream ends.</summary>
    public int Complete(IBufferWriter<byte> output)
    {
        var rest = _buffer.AsSpan(_start, _end - _start);
        if (rest.Length > 0 && !ShouldDrop(rest))
        {
            output.Write(rest);
        }

        _start = _end = _scanned = 0;
        return rest.Length;
    }

    /// <summary>Relays <paramref name="input"/> as if it had been read from upstream (tests, small callers).</summary>
    public int Process(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        var written = 0;
        while (input.Length > 0)
        {
            var memory = GetMemory().Span;
            var n = Math.Min(memory.Length, input.Length);
            input[..n].CopyTo(memory);
            Advance(n);
            input = input[n..];
            written += Relay(output);
        }

        return written;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>Length of the first event including its blank-line terminator (LF LF or CRLF CRLF), or -1.</summary>
    internal static int FindEventEnd(ReadOnlySpan<byte> data, int from)
    {
        from = Math.Max(from, 0);
        while (true)
        {
            var i = data[from..].IndexOf((byte)'\n');
            if (i < 0)
            {
                return -1;
            }

            var at = from + i;
            if (at + 1 < data.Length && data[at + 1] == '\n')
            {
                return at + 2;
            }

            if (at + 2 < data.Length && data[at + 1] == '\r' && data[at + 2] == '\n')
            {
                return at + 3;
            }

            from = at + 1;
        }
    }

    private bool ShouldDrop(ReadOnlySpan<byte> evt)
    {
        // Cheap filter first: most chunks carry no usage at all.
        if (evt.IndexOf("\"usage\""u8) < 0)
        {
            return false;
        }

        var data = DataOf(evt);
        if (!UsageReader.TryRead(data, out var usage, out var choicesEmpty))
        {
            return false;
        }

        Usage = usage;
        return dropUsageOnlyChunk && choicesEmpty;
    }

    /// <summary>The payload of the event's first <c>data:</c> line (OpenAI sends one line per chunk).</summary>
    private static ReadOnlySpan<byte> DataOf(ReadOnlySpan<byte> evt)
    {
        while (evt.Length > 0)
        {
            var newline = evt.IndexOf((byte)'\n');
            var line = newline < 0 ? evt : evt[..newline];
            evt = newline < 0 ? default : evt[(newline + 1)..];
            if (line.StartsWith("data:"u8))
            {
                line = line[5..];
                if (line.Length > 0 && line[0] == ' ')
                {
                    line = line[1..];
                }

                return line.TrimEnd((byte)'\r');
            }
        }

        return default;
    }
}
