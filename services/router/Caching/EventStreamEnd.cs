namespace Gateway.Aspire.Router.Caching;

/// <summary>Whether a captured stream ended the way a complete answer ends.</summary>
internal static class EventStreamEnd
{
    /// <summary>
    /// True when the last event is a client format's terminator: OpenAI's <c>data: [DONE]</c> or
    /// Anthropic's <c>message_stop</c> (clients only ever see these two formats). An upstream that
    /// closed early without an error still leaves a stream the relay considers finished; storing
    /// it would replay a truncated answer until its TTL ends, so such a stream is not stored.
    /// </summary>
    public static bool LooksComplete(ReadOnlySpan<byte> stream)
    {
        stream = stream.TrimEnd("\r\n "u8);
        var lastBreak = stream.LastIndexOf("\n\n"u8);
        var lastCrBreak = stream.LastIndexOf("\n\r\n"u8);
        var last = stream[(Math.Max(lastBreak, lastCrBreak) + 1)..];
        return last.EndsWith("data: [DONE]"u8) || last.EndsWith("data:[DONE]"u8)
            || last.StartsWith("event: message_stop"u8) || last.IndexOf("\"type\":\"message_stop\""u8) >= 0;
    }
}
