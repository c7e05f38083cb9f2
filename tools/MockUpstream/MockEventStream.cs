using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;

namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// A streamed response made of JSON items (server-sent events, or the elements of Gemini's JSON
/// array), written into the response pipe with one reused <see cref="Utf8JsonWriter"/> and flushed
/// item by item so that the client sees each one as it is "generated".
/// </summary>
/// <example>
/// <code>
/// var json = events.BeginEvent("ping");   // event: ping\ndata: 
/// json.WriteStartObject(); json.WriteString("type", "ping"); json.WriteEndObject();
/// await events.EndAsync();                // \n\n, then flush
/// </code>
/// </example>
/// <remarks>
/// Fault injection for resilience tests, from request headers: <c>x-mock-stream-fault</c> is
/// <c>reset</c> (the connection is cut), <c>stall</c> (nothing more is sent until the client gives up),
/// <c>truncate</c> (the response ends cleanly but without the rest, so no terminating event) or
/// <c>malformed</c> (an event that is not JSON, then the rest as usual), applied after
/// <c>x-mock-stream-fault-after</c> items (default 1).
/// </remarks>
internal sealed class MockEventStream
{
    /// <summary>What ends a server-sent event, as OpenAI and Anthropic write it.</summary>
    public static readonly byte[] SseEnd = "\n\n"u8.ToArray();

    private readonly HttpContext _context;
    private readonly PipeWriter _body;
    private readonly Utf8JsonWriter _json;
    private readonly byte[] _itemEnd;
    private readonly int _delayMs;
    private readonly CancellationToken _aborted;
    private readonly string _fault;
    private readonly int _faultAfter;
    private readonly ArrayBufferWriter<byte> _discard = new();
    private int _items;
    private bool _silent;

    private MockEventStream(HttpContext context, byte[] itemEnd, int delayMs)
    {
        _context = context;
        _body = context.Response.BodyWriter;
        _json = new Utf8JsonWriter(_body, MockJson.WriterOptions);
        _itemEnd = itemEnd;
        _delayMs = delayMs;
        _aborted = context.RequestAborted;
        _fault = context.Request.Headers["x-mock-stream-fault"].ToString();
        _faultAfter = MockControls.HeaderInt(context.Request, "x-mock-stream-fault-after") ?? 1;
    }

    // After a reset or a truncation the handler still "generates" the rest; it goes nowhere.
    private IBufferWriter<byte> Target => _silent ? _discard : _body;

    /// <summary>Starts the response: 200, <paramref name="contentType"/>, no caching.</summary>
    /// <param name="context">The request.</param>
    /// <param name="contentType">The response content type.</param>
    /// <param name="itemEnd">What ends each item (<c>\n\n</c> for SSE).</param>
    /// <param name="delayMs">The pause <see cref="PaceAsync"/> makes (<c>x-mock-chunk-delay-ms</c>).</param>
    public static MockEventStream Start(HttpContext context, string contentType, byte[] itemEnd, int delayMs)
    {
        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "no-cache";
        return new MockEventStream(context, itemEnd, delayMs);
    }

    /// <summary>Starts an item after <paramref name="prefix"/>: write exactly one JSON value, then <see cref="EndAsync"/>.</summary>
    public Utf8JsonWriter Begin(ReadOnlySpan<byte> prefix)
    {
        Target.Write(prefix);
        _json.Reset(Target);
        return _json;
    }

    /// <summary>Starts an unnamed server-sent event (<c>data: </c>), as OpenAI and Gemini send them.</summary>
    public Utf8JsonWriter BeginData() => Begin("data: "u8);

    /// <summary>Starts a named server-sent event (<c>event: name</c>), as Anthropic sends them.</summary>
    public Utf8JsonWriter BeginEvent(string name)
    {
        Target.Write("event: "u8);
        Encoding.UTF8.GetBytes(name, Target);
        Target.Write("\n"u8);
        return BeginData();
    }

    /// <summary>Ends the item begun last and sends it.</summary>
    public async ValueTask<FlushResult> EndAsync()
    {
        _json.Flush();
        Target.Write(_itemEnd);
        return await FlushAsync();
    }

    /// <summary>Sends bytes that are not a JSON item (<c>data: [DONE]</c>, a closing bracket).</summary>
    public ValueTask<FlushResult> WriteRawAsync(ReadOnlySpan<byte> bytes)
    {
        Target.Write(bytes);
        return FlushAsync();
    }

    /// <summary>Waits between two generated pieces, when the request asked for slow streams.</summary>
    public Task PaceAsync() => _delayMs > 0 && !_silent ? Task.Delay(_delayMs, _aborted) : Task.CompletedTask;

    private async ValueTask<FlushResult> FlushAsync()
    {
        if (_silent)
        {
            _discard.ResetWrittenCount();
            return default;
        }

        var result = await _body.FlushAsync(_aborted);
        if (++_items != _faultAfter || _fault.Length == 0)
        {
            return result;
        }

        switch (_fault)
        {
            case "reset":
                // Let the reader take what was sent first: a reset discards data still unread in its socket.
                _silent = true;
                await Task.Delay(200, _aborted);
                _context.Abort();
                break;
            case "stall":
                await Task.Delay(Timeout.Infinite, _aborted);
                break;
            case "truncate":
                _silent = true;
                break;
            case "malformed":
                _body.Write("data: {\"choices\": [oops\n\n"u8);
                result = await _body.FlushAsync(_aborted);
                break;
        }

        return result;
    }
}
