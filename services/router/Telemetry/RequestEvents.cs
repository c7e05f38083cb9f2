using System.Text.Json;
using Gateway.Aspire.ServiceDefaults.Events;

namespace Gateway.Aspire.Router.Telemetry;

/// <summary>Who made a request, as policy named them (empty strings when not applicable).</summary>
internal readonly record struct Caller(string User, string Team, string VirtualAccount)
{
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteString("user", User);
        writer.WriteString("team", Team);
        writer.WriteString("virtual_account", VirtualAccount);
    }
}

/// <summary><c>model.request.start</c>: admitted, model resolved, about to be served. <c>model</c> is the name the client asked for.</summary>
internal sealed class RequestStartEvent : GatewayEvent
{
    public override string Type => GatewayEventTypes.RequestStart;

    public required Caller Caller { get; init; }

    public required bool Stream { get; init; }

    protected override void WriteFields(Utf8JsonWriter writer)
    {
        Caller.WriteTo(writer);
        writer.WriteBoolean("stream", Stream);
    }
}

/// <summary><c>model.streaming.start</c>: the first byte of a streamed answer went to the client.</summary>
internal sealed class StreamingStartEvent : GatewayEvent
{
    public override string Type => GatewayEventTypes.StreamingStart;

    public required string ServedModel { get; init; }

    public required string Provider { get; init; }

    public required double TimeToFirstTokenMs { get; init; }

    protected override void WriteFields(Utf8JsonWriter writer)
    {
        writer.WriteString("served_model", ServedModel);
        writer.WriteString("provider", Provider);
        writer.WriteNumber("ttft_ms", Math.Round(TimeToFirstTokenMs, 3));
    }
}

/// <summary><c>model.request.complete</c>: the request's final answer (after any retries and fallbacks).</summary>
internal sealed class RequestCompleteEvent : GatewayEvent
{
    public override string Type => GatewayEventTypes.RequestComplete;

    public required CompletedRequest Request { get; init; }

    protected override void WriteFields(Utf8JsonWriter writer)
    {
        var r = Request;
        writer.WriteString("served_model", r.ServedModel);
        writer.WriteString("provider", r.Provider);
        writer.WriteNumber("status", r.Status);
        writer.WriteString("error_type", r.ErrorType);
        writer.WriteNumber("prompt_tokens", r.Usage.PromptTokens);
        writer.WriteNumber("completion_tokens", r.Usage.CompletionTokens);
        writer.WriteNumber("cached_tokens", r.Usage.CachedTokens);
        writer.WriteBoolean("usage_estimated", r.Usage.Estimated);
        writer.WriteNumber("cost_usd", r.CostUsd);
        writer.WriteNumber("latency_ms", Math.Round(r.LatencyMs, 3));
        writer.WriteNumber("ttft_ms", Math.Round(r.TimeToFirstTokenMs, 3));
        r.Caller.WriteTo(writer);
        writer.WriteBoolean("stream", r.Stream);
        writer.WriteBoolean("cached", r.Cached);
    }
}
