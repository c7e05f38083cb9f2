using System.Buffers;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Providers.Streaming;

/// <summary>
/// Rewrites a server-sent-event stream of one wire format into another, event by event, and
/// notes the usage the upstream reported on the way. Fed by <see cref="SseEventParser"/>; one
/// instance serves one stream and is not thread-safe.
/// </summary>
internal interface IStreamTranslator
{
    /// <summary>
    /// Handles one complete upstream event and writes zero or more events in the client's format
    /// to <paramref name="output"/>.
    /// </summary>
    /// <param name="name">The event's <c>event:</c> field, empty when it has none (OpenAI and Gemini send none).</param>
    /// <param name="data">The event's <c>data:</c> lines joined with <c>\n</c> (one line for every provider we know).</param>
    /// <param name="output">Where the translated events go.</param>
    void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output);

    /// <summary>The upstream ended cleanly: write whatever closes the client's stream (OpenAI's <c>data: [DONE]</c>, Anthropic's <c>message_stop</c>).</summary>
    void Complete(IBufferWriter<byte> output);

    /// <summary>The usage the upstream reported so far; null while it has reported none.</summary>
    TokenUsage? Usage { get; }
}
