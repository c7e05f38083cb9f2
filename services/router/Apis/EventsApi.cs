using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Analytics;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Telemetry;
using Gateway.Aspire.ServiceDefaults.Events;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// <c>GET /admin/v1/events[?types=a,b]</c>: the live gateway events as server-sent events
/// (<c>event: &lt;type&gt;</c>, <c>data: &lt;json&gt;</c>), for dashboards. Admin credential checked by
/// policy like every admin call; a team admin sees only events of their team. The feed starts with a
/// <c>: connected</c> comment once it is subscribed, so a client knows from when it misses nothing.
/// While Redis cannot be reached the answer is 503 (<c>service_unavailable</c>, code
/// <c>events_unavailable</c>, <c>Retry-After: 5</c>) within <see cref="EventFeed.SubscribeTimeout"/>.
/// </summary>
public static class EventsApi
{
    private static readonly string[] s_types =
    [
        GatewayEventTypes.RequestStart, GatewayEventTypes.RequestComplete, GatewayEventTypes.StreamingStart,
        GatewayEventTypes.BudgetWarning, GatewayEventTypes.BudgetExceeded,
    ];

    /// <summary>Maps the live feed.</summary>
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/events", StreamAsync);
        return app;
    }

    /// <summary>How long the feed may stay silent before a <c>: ping</c> comment: proxies close idle connections.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    internal static async Task StreamAsync(HttpContext context, Tokens.TokensClient tokens, EventFeed feed, TimeProvider time)
    {
        var (refusal, team) = await AdminCaller.AuthorizeAsync(context, tokens, "");
        HashSet<string>? types = null;
        refusal ??= ParseTypes(context.Request.Query["types"], out types);
        if (refusal is not null)
        {
            await refusal.ExecuteAsync(context);
            return;
        }

        var response = context.Response;
        var aborted = context.RequestAborted;
        EventFeed.Lease? lease;
        try
        {
            lease = await feed.TryJoinAsync(aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return;
        }

        if (lease is null)
        {
            response.Headers.RetryAfter = "5";
            await OpenAiError.WriteAsync(response, 503, OpenAiError.ServiceUnavailable, "events_unavailable",
                "The live event feed cannot reach Redis, which carries the events of every replica; retry shortly.");
            return;
        }

        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        using var joined = lease;
        try
        {
            await response.Body.WriteAsync(": connected\n\n"u8.ToArray(), aborted);
            await response.Body.FlushAsync(aborted);
            var events = lease.Events;
            while (await WaitAsync(events, response, time, aborted))
            {
                var writer = response.BodyWriter;
                while (events.TryRead(out var json))
                {
                    var (type, eventTeam) = Read(json.Span);
                    if (type is null || (types is not null && !types.Contains(type)) || (team.Length > 0 && eventTeam != team))
                    {
                        continue;
                    }

                    writer.Write("event: "u8);
                    writer.Write(Encoding.UTF8.GetBytes(type));
                    writer.Write("\ndata: "u8);
                    writer.Write(json.Span);
                    writer.Write("\n\n"u8);
                }

                await writer.FlushAsync(aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The dashboard disconnected.
        }
    }

    /// <summary>Waits for events, writing a heartbeat comment after each <see cref="HeartbeatInterval"/> of silence; false when the feed ended.</summary>
    private static async Task<bool> WaitAsync(System.Threading.Channels.ChannelReader<ReadOnlyMemory<byte>> events, HttpResponse response, TimeProvider time, CancellationToken aborted)
    {
        while (true)
        {
            using var idle = new CancellationTokenSource(HeartbeatInterval, time);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(aborted, idle.Token);
            try
            {
                return await events.WaitToReadAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
            {
                await response.Body.WriteAsync(": ping\n\n"u8.ToArray(), aborted);
                await response.Body.FlushAsync(aborted);
            }
        }
    }

    /// <summary>The <c>types</c> filter (comma-separated, may repeat): null for all, or a 400 naming an unknown type.</summary>
    private static IResult? ParseTypes(Microsoft.Extensions.Primitives.StringValues values, out HashSet<string>? types)
    {
        types = null;
        foreach (var type in values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!s_types.Contains(type))
            {
                return OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_value",
                    $"Unknown event type '{type}'; known: {string.Join(", ", s_types)}.", "types");
            }

            (types ??= []).Add(type);
        }

        return null;
    }

    /// <summary>The top-level <c>type</c> and <c>team</c> of an event (null type: not an event object).</summary>
    private static (string? Type, string? Team) Read(ReadOnlySpan<byte> json)
    {
        string? type = null, team = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (null, null);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                var isTeam = reader.ValueTextEquals("team"u8);
                reader.Read();
                if (isType && reader.TokenType == JsonTokenType.String)
                {
                    type = reader.GetString();
                }
                else if (isTeam && reader.TokenType == JsonTokenType.String)
                {
                    team = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return (null, null);
        }

        return (type, team);
    }
}
