using System.Text.Json;

namespace Gateway.Aspire.ServiceDefaults.Events;

/// <summary>
/// One gateway event. The common fields (<c>type</c>, <c>id</c>, <c>time</c>, <c>request_id</c>,
/// <c>model</c>) are written by <see cref="GatewayEventPublisher"/>; a subclass adds its own with
/// <see cref="WriteFields"/>. Events are serialised on the publisher's background task, never on the
/// request path, so an event is only its fields until then.
/// </summary>
public abstract class GatewayEvent
{
    /// <summary>The event's type, e.g. <c>model.request.complete</c>.</summary>
    public abstract string Type { get; }

    /// <summary>
    /// The event's <c>id</c>; null (default): a GUID v7 made from <see cref="Time"/>. Set by an event
    /// that has an id of its own already (a budget alert's queue entry), so the feed and the alert's
    /// webhooks name it alike.
    /// </summary>
    public string? Id { get; init; }

    /// <summary>When it happened (UTC), from the caller's <see cref="TimeProvider"/>.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The request it belongs to (<c>x-request-id</c>); empty when none.</summary>
    public string RequestId { get; init; } = "";

    /// <summary>The model it concerns; empty when none.</summary>
    public string Model { get; init; } = "";

    /// <summary>Writes the event's own members into the open JSON object (the common ones are already written).</summary>
    protected internal virtual void WriteFields(Utf8JsonWriter writer)
    {
    }
}
