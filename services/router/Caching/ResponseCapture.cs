using System.IO.Pipelines;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Caching;

/// <summary>
/// The bytes of an answer as the relay sends them to the client, kept to be stored when the
/// answer completes. Bounded: past the cache's largest entry it lets go of what it kept and the
/// answer is relayed without being cached, so a huge answer never costs more than that bound.
/// </summary>
/// <remarks>
/// The relay either appends what it wrote (<see cref="Append"/>) or writes through
/// <see cref="Tee"/>, which copies whatever passes through it; both cost one copy of the answer,
/// the price of caching it.
/// </remarks>
internal sealed class ResponseCapture : IDisposable
{
    private readonly int _maxBytes;
    private PooledBuffer? _buffer;

    /// <summary>Starts capturing for <paramref name="lookup"/>, keeping at most <paramref name="maxBytes"/>.</summary>
    internal ResponseCapture(CacheLookup lookup, int maxBytes)
    {
        Lookup = lookup;
        _maxBytes = maxBytes;
        _buffer = new PooledBuffer(Math.Min(maxBytes, 16 * 1024));
    }

    /// <summary>The request the captured answer belongs to.</summary>
    public CacheLookup Lookup { get; }

    /// <summary>True once the answer grew past the bound: nothing is kept and nothing will be stored.</summary>
    public bool Overflowed => _buffer is null;

    /// <summary>The bytes captured so far (empty after an overflow).</summary>
    public ReadOnlySpan<byte> Bytes => _buffer is null ? default : _buffer.Span;

    /// <summary>Appends bytes the client was sent.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (_buffer is null || bytes.IsEmpty)
        {
            return;
        }

        if (_buffer.Length + bytes.Length > _maxBytes)
        {
            _buffer.Dispose();
            _buffer = null;
            return;
        }

        _buffer.EnsureFree(bytes.Length);
        bytes.CopyTo(_buffer.Array.AsSpan(_buffer.Length));
        _buffer.Length += bytes.Length;
    }

    /// <summary>
    /// A writer that writes to <paramref name="inner"/> and captures every byte advanced through it,
    /// flushing and completing <paramref name="inner"/> as it is asked to. A pipe writer so the relay
    /// keeps its one <c>output</c> for writes and flushes alike. Create one per answer.
    /// </summary>
    public PipeWriter Tee(PipeWriter inner) => new TeeWriter(inner, this);

    /// <inheritdoc />
    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }

    private sealed class TeeWriter(PipeWriter inner, ResponseCapture capture) : PipeWriter
    {
        private Memory<byte> _current;

        public override void Advance(int bytes)
        {
            capture.Append(_current.Span[..bytes]);
            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _current = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_current = inner.GetMemory(sizeHint)).Span;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }
}
