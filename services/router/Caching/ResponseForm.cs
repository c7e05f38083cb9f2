namespace Gateway.Aspire.Router.Caching;

/// <summary>
/// The shape in which an answer was delivered, and so can be replayed. One question (one
/// <see cref="CacheKey.RequestHash"/>) has up to one entry per form: a stored stream is not turned
/// into a JSON answer or back (that needs per-format event synthesis), so a request in another
/// form is a miss that stores its own form.
/// </summary>
internal enum ResponseForm : byte
{
    /// <summary>A JSON body (<c>"stream": false</c> or absent).</summary>
    Json = (byte)'j',

    /// <summary>Server-sent events without a client-requested usage chunk.</summary>
    EventStream = (byte)'s',

    /// <summary>
    /// Server-sent events with OpenAI's final usage chunk (<c>stream_options.include_usage</c>):
    /// its own form because the client sees one more event.
    /// </summary>
    EventStreamWithUsage = (byte)'u',
}

/// <summary>Picks the <see cref="ResponseForm"/> of a request.</summary>
internal static class ResponseForms
{
    /// <summary>The form a request with <c>stream</c> and <c>stream_options.include_usage</c> is answered in.</summary>
    public static ResponseForm Of(bool stream, bool? includeUsage) =>
        !stream ? ResponseForm.Json : includeUsage == true ? ResponseForm.EventStreamWithUsage : ResponseForm.EventStream;

    /// <summary>Whether answers of this form are server-sent events.</summary>
    public static bool IsEventStream(this ResponseForm form) => form != ResponseForm.Json;
}
