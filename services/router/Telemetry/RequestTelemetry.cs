using Gateway.Aspire.ServiceDefaults.Configuration;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Routing;
using Gateway.Aspire.ServiceDefaults.Events;

namespace Gateway.Aspire.Router.Telemetry;

/// <summary>
/// What the forwarder tells the world about a request: the gateway events
/// (<see cref="GatewayEventPublisher"/>) and the Prometheus metrics (<see cref="GatewayRequestMetrics"/>),
/// from one call per moment of the request, so the hot path carries three short lines.
/// </summary>
/// <remarks>
/// Cost on the request path: one small object per event and a non-blocking channel write; the JSON
/// is written on the publisher's task (numbers in docs/ARCHITECTURE.md, Events).
/// </remarks>
internal sealed class RequestTelemetry(GatewayEventPublisher events, GatewayRequestMetrics metrics, LiveConfig<RouterConfig> live, TimeProvider time)
{
    /// <summary>Who <paramref name="identity"/> is, as the ledger attributes it (the first of a user's teams).</summary>
    public static Caller CallerOf(Identity? identity) => identity is null
        ? default
        : new Caller(identity.User, identity.Teams.Count > 0 ? identity.Teams[0] : "", GuardrailSubjects.VirtualAccountOf(identity));

    /// <summary><c>model.request.start</c>.</summary>
    public void Started(string requestId, string model, Identity identity, bool stream) =>
        events.Publish(new RequestStartEvent { Time = time.GetUtcNow(), RequestId = requestId, Model = model, Caller = CallerOf(identity), Stream = stream });

    /// <summary><c>model.streaming.start</c>: the first byte of a stream left for the client.</summary>
    public void StreamingStarted(string requestId, string model, CatalogModel served, double ttftMs) =>
        events.Publish(new StreamingStartEvent
        {
            Time = time.GetUtcNow(), RequestId = requestId, Model = model, ServedModel = served.Id, Provider = served.Account.Provider, TimeToFirstTokenMs = ttftMs,
        });

    /// <summary><c>model.request.complete</c> and the request's metrics.</summary>
    public void Completed(CompletedRequest request)
    {
        events.Publish(new RequestCompleteEvent { Time = time.GetUtcNow(), RequestId = request.RequestId, Model = request.Model, Request = request });
        metrics.Record(request, request.ServedModel);
    }

    /// <summary>A request refused at admission: rate limited, or over a hard budget (<paramref name="budget"/>).</summary>
    public void Refused(string model, int status, bool budget)
    {
        var (catalog, routes) = live.Current;
        metrics.Refused(catalog.TryResolve(model, out var known) ? known.Id : routes.VirtualModels.Contains(model) ? model : "", status, budget);
    }
}
