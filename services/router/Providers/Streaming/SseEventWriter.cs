using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gateway.Aspire.Router.Providers.Streaming;

/// <summary>
/// Writes server-sent events whose data is one JSON object, reusing one buffer and one
/// <see cref="Utf8JsonWriter"/> for the whole stream.
/// </summary>
/// <example>
/// <code>
/// var json = events.Begin();
/// json.WriteStartObject(); json.WriteString("type", "ping"); json.WriteEndObject();
/// events.End(output, "ping"u8);   // event: ping\ndata: {"type":"ping"}\n\n
/// </code>
/// </example>
internal sealed class SseEventWriter
{
    /// <summary>Relaxed escaping as the providers use: model text full of quotes and '&lt;' stays readable.</summary>
    internal static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };

    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _json;

    public SseEventWriter() => _json = new Utf8JsonWriter(_buffer, JsonOptions);

    /// <summary>Starts an event: write exactly one JSON value to the returned writer, then call <see cref="End"/>.</summary>
    public Utf8JsonWriter Begin()
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        return _json;
    }

    /// <summary>Writes the event begun with <see cref="Begin"/>; <paramref name="name"/> empty means no <c>event:</c> line (OpenAI style).</summary>
    public void End(IBufferWriter<byte> output, ReadOnlySpan<byte> name)
    {
        _json.Flush();
        WriteRaw(output, name, _buffer.WrittenSpan);
    }

    /// <summary>Writes one event with already serialised data (a single line), e.g. <c>[DONE]</c>.</summary>
    public static void WriteRaw(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> data)
    {
        if (!name.IsEmpty)
        {
            output.Write("event: "u8);
            output.Write(name);
            output.Write("\n"u8);
        }

        output.Write("data: "u8);
        output.Write(data);
        output.Write("\n\n"u8);
    }
}
