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
internal sealed class MockEventStream
{
    /// <summary>What ends a server-sent event, as OpenAI and Anthropic write it.</summary>
    public static readonly byte[] SseEnd = "\n\n"u8.ToArray();

    private readonly PipeWriter _body;
    private readonly Utf8JsonWriter _json;
    private readonly byte[] _itemEnd;
    private readonly int _delayMs;
    private readonly CancellationToken _aborted;

    private MockEventStream(HttpContext context, byte[] itemEnd, int delayMs)
    {
        _body = context.Response.BodyWriter;
        _json = new Utf8JsonWriter(_body, MockJson.WriterOptions);
        _itemEnd = itemEnd;
        _delayMs = delayMs;
        _aborted = context.RequestAborted;
    }

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
        _body.Write(prefix);
        _json.Reset(_body);
        return _json;
    }

    /// <summary>Starts an unnamed server-sent event (<c>data: </c>), as OpenAI and Gemini send them.</summary>
    public Utf8JsonWriter BeginData() => Begin("data: "u8);

    /// <summary>Starts a named server-sent event (<c>event: name</c>), as Anthropic sends them.</summary>
    public Utf8JsonWriter BeginEvent(string name)
    {
        _body.Write("event: "u8);
        Encoding.UTF8.GetBytes(name, _body);
        _body.Write("\n"u8);
        return BeginData();
    }

    /// <summary>Ends the item begun last and sends it.</summary>
    public ValueTask<FlushResult> EndAsync()
    {
        _json.Flush();
        _body.Write(_itemEnd);
        return _body.FlushAsync(_aborted);
    }

    /// <summary>Sends bytes that are not a JSON item (<c>data: [DONE]</c>, a closing bracket).</summary>
    public ValueTask<FlushResult> WriteRawAsync(ReadOnlySpan<byte> bytes)
    {
        _body.Write(bytes);
        return _body.FlushAsync(_aborted);
    }

    /// <summary>Waits between two generated pieces, when the request asked for slow streams.</summary>
    public Task PaceAsync() => _delayMs > 0 ? Task.Delay(_delayMs, _aborted) : Task.CompletedTask;
}
