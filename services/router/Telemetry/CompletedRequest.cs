using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Telemetry;

/// <summary>A model request's final answer, as the forwarder knows it: what <see cref="RequestTelemetry.Completed"/> reports.</summary>
/// <param name="RequestId">The client's request id.</param>
/// <param name="Model">The model the client asked for.</param>
/// <param name="ServedModel"><c>&lt;account&gt;/&lt;model&gt;</c> that answered (the last attempt's).</param>
/// <param name="Provider">Its provider.</param>
/// <param name="Status">The HTTP status the client got (499: it left).</param>
/// <param name="ErrorType">Empty on success.</param>
/// <param name="Usage">Tokens billed.</param>
/// <param name="CostUsd">What they cost (0 for a cache hit, as the ledger prices it).</param>
/// <param name="LatencyMs">From the request's arrival to its end.</param>
/// <param name="TimeToFirstTokenMs">Streams: to the first byte sent; 0 otherwise.</param>
/// <param name="Caller">Who called.</param>
/// <param name="Stream">Whether the answer was a stream.</param>
/// <param name="Cached">Whether the response cache answered.</param>
internal sealed record CompletedRequest(
    string RequestId,
    string Model,
    string ServedModel,
    string Provider,
    int Status,
    string ErrorType,
    TokenUsage Usage,
    decimal CostUsd,
    double LatencyMs,
    double TimeToFirstTokenMs,
    Caller Caller,
    bool Stream,
    bool Cached);
