using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Messages;
using Gateway.Aspire.Router.Providers;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// The event that ends a client's stream when the upstream failed after the first byte was sent:
/// the status can no longer change, so the failure must be in the stream, in the client's format,
/// where each SDK raises it (OpenAI: a <c>data:</c> event holding <c>{"error":{...}}</c>; Anthropic:
/// <c>event: error</c>), instead of a stream that merely stops and looks complete.
/// </summary>
internal static class StreamErrorEvent
{
    /// <summary>Renders the event for <paramref name="format"/>; <paramref name="type"/> and <paramref name="status"/> default to an upstream failure (502).</summary>
    public static byte[] Render(WireFormat format, string code, string message, string type = OpenAiError.Upstream, int status = 502)
    {
        var openAi = OpenAiError.Serialize(type, code, message);
        ReadOnlySpan<byte> prefix = format == WireFormat.Anthropic ? "event: error\ndata: "u8 : "data: "u8;
        var body = format == WireFormat.Anthropic ? AnthropicErrorBody.FromOpenAiError(status, openAi) : openAi;
        var bytes = new byte[prefix.Length + body.Length + 2];
        prefix.CopyTo(bytes);
        body.CopyTo(bytes.AsSpan(prefix.Length));
        "\n\n"u8.CopyTo(bytes.AsSpan(prefix.Length + body.Length));
        return bytes;
    }
}
