using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Caching;

/// <summary>A complete, successful answer as it reached the client, kept to be replayed.</summary>
internal sealed record CachedResponse
{
    /// <summary>HTTP status the client got (2xx).</summary>
    public required int StatusCode { get; init; }

    /// <summary>The answer's <c>Content-Type</c>.</summary>
    public required string ContentType { get; init; }

    /// <summary>JSON or server-sent events (and which).</summary>
    public required ResponseForm Form { get; init; }

    /// <summary>The bytes the client received: a JSON body, or every event of the stream.</summary>
    public required ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The tokens the original call used: reported again on a hit, at zero cost.</summary>
    public required TokenUsage Usage { get; init; }

    /// <summary><c>&lt;account&gt;/&lt;model&gt;</c> that produced the answer.</summary>
    public required string ServedModel { get; init; }

    /// <summary>The provider kind of <see cref="ServedModel"/> (e.g. <c>anthropic</c>).</summary>
    public required string Provider { get; init; }

    /// <summary>When the answer was stored.</summary>
    public DateTimeOffset StoredAt { get; init; }

    /// <summary>When the answer stops being served.</summary>
    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Whether <see cref="Body"/> is server-sent events.</summary>
    public bool IsEventStream => Form.IsEventStream();
}
