using System.Buffers;

namespace Gateway.Aspire.Router.Usage;

/// <summary>
/// The bytes of a stream as the client received them, kept so that a stream which ends without
/// the provider's usage (cut off, or a server that ignores <c>include_usage</c>) can still be
/// billed by counting what was sent (<see cref="TokenEstimator"/>). Pooled, and capped: past
/// <see cref="Capacity"/> the rest is not kept and the count is a lower bound.
/// </summary>
/// <remarks>
/// Kept for every stream because whether usage will arrive is only known at its end; the cost is
/// one copy of the relayed bytes (a few tens of kilobytes for a typical answer).
/// </remarks>
internal sealed class StreamTranscript : IDisposable
{
    /// <summary>Most bytes kept: 4 MiB, far beyond a typical answer's stream.</summary>
    internal const int Capacity = 4 << 20;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _length;

    /// <summary>The bytes kept so far.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, _length);

    /// <summary>Appends relayed bytes (silently stops at <see cref="Capacity"/>).</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        bytes = bytes[..Math.Min(bytes.Length, Capacity - _length)];
        if (bytes.IsEmpty)
        {
            return;
        }

        if (_length + bytes.Length > _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(Capacity, Math.Max(_buffer.Length * 2, _length + bytes.Length)));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _length = 0;
        }
    }
}
