using System.Buffers;
using System.IO.Pipelines;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Signing;

/// <summary>
/// The response writer while signing is on. An event stream (<c>text/event-stream</c>) passes
/// through at every flush, each complete event closed by its signature line:
/// <c>data: {...}\n</c> + <c>: x-gateway-signature=&lt;hex&gt;\n</c> + <c>\n</c>, the HMAC covering every
/// byte of the event before that line. Any other body is held until the response completes, then
/// signed whole into the <c>x-gateway-signature</c> header and sent (the headers cannot go before the
/// last byte is known).
/// </summary>
/// <remarks>
/// The router flushes streams only at event boundaries (<see cref="SseUsageRelay"/>, the translators,
/// the cache replay), so nothing waits here; a partial event stays until the rest is written.
/// </remarks>
internal sealed class SigningPipeWriter(PipeWriter inner, HttpResponse response, ResponseSigner signer) : PipeWriter
{
    private readonly ArrayBufferWriter<byte> _pending = new(4096);
    private bool? _eventStream;
    private bool _completed;

    private bool IsEventStream => _eventStream ??= response.ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;

    /// <inheritdoc />
    public override void Advance(int bytes) => _pending.Advance(bytes);

    /// <inheritdoc />
    public override Memory<byte> GetMemory(int sizeHint = 0) => _pending.GetMemory(sizeHint);

    /// <inheritdoc />
    public override Span<byte> GetSpan(int sizeHint = 0) => _pending.GetSpan(sizeHint);

    /// <inheritdoc />
    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null) => _completed = true;

    /// <inheritdoc />
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (!IsEventStream)
        {
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
        }

        PassSignedEvents();
        return inner.FlushAsync(cancellationToken);
    }

    /// <summary>Whether the response may start now (a stream); a signed body's headers wait for its last byte.</summary>
    public bool MayStart => IsEventStream;

    /// <summary>Sends what is held: a body with its signature header, or a stream's last events.</summary>
    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        if (_completed && _pending.WrittenCount == 0 && _eventStream is not null)
        {
            return;
        }

        _completed = true;
        if (IsEventStream)
        {
            PassSignedEvents();
            if (_pending.WrittenCount > 0)
            {
                // A last event without its blank line goes out as it is, unsigned, as the router wrote it.
                inner.Write(_pending.WrittenSpan);
                _pending.ResetWrittenCount();
            }
        }
        else
        {
            if (!response.HasStarted)
            {
                response.Headers[ResponseSigner.Header] = signer.Sign(_pending.WrittenSpan);
            }

            inner.Write(_pending.WrittenSpan);
            _pending.ResetWrittenCount();
        }

        await inner.FlushAsync(cancellationToken);
    }

    private void PassSignedEvents()
    {
        var data = _pending.WrittenSpan;
        var start = 0;
        Span<byte> line = stackalloc byte[ResponseSigner.StreamLinePrefix.Length + ResponseSigner.HexLength + 1];
        ResponseSigner.StreamLinePrefix.CopyTo(line);
        line[^1] = (byte)'\n';
        while (SseUsageRelay.FindEventEnd(data, start) is var end and > 0)
        {
            // The event's lines, then the signature line, then the blank line that ends the event.
            var terminator = data[end - 2] == '\r' ? 2 : 1;
            var content = data[start..(end - terminator)];
            signer.Sign(content, line[ResponseSigner.StreamLinePrefix.Length..^1]);
            inner.Write(content);
            inner.Write(line);
            inner.Write(data[(end - terminator)..end]);
            start = end;
        }

        if (start == data.Length)
        {
            _pending.ResetWrittenCount();
        }
        else if (start > 0)
        {
            var rest = data[start..].ToArray();
            _pending.ResetWrittenCount();
            _pending.Write(rest);
        }
    }
}
