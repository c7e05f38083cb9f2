using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Grpc.Core;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// The admin API under <c>/admin/v1</c>: tokens (<see cref="AdminTokensApi"/>) and users, teams and
/// virtual accounts (<see cref="AdminIdentitiesApi"/>). The router only shapes HTTP: policy checks the
/// admin credential (<c>GATEWAY_ADMIN_KEY</c> or an admin user's personal token) and owns every rule,
/// and its gRPC status becomes the HTTP status (<see cref="FromRpc"/>).
/// </summary>
public static class AdminApi
{
    /// <summary>How long an admin call may take in policy.</summary>
    public static readonly TimeSpan PolicyDeadline = TimeSpan.FromSeconds(10);

    /// <summary>Maps every <c>/admin/v1</c> endpoint: tokens, identities, the routing views (<see cref="RoutingAdminApi"/>), the usage analytics (<see cref="AnalyticsApi"/>), the spend rebuild (<see cref="SpendAdminApi"/>), configuration manifests (<see cref="ConfigApi"/>) and the live events (<see cref="EventsApi"/>).</summary>
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/v1");
        admin.MapAdminTokensApi();
        admin.MapAdminIdentitiesApi();
        app.MapRoutingAdminApi();
        app.MapAnalyticsApi();
        app.MapSpendAdminApi();
        admin.MapConfigApi();
        app.MapEventsApi();
        return app;
    }

    /// <summary>
    /// Reads a JSON body into <typeparamref name="T"/>: null and the error to send when the caller
    /// sent no credential, or the body is not JSON of the right shape (400 naming the field).
    /// An empty body reads as <paramref name="empty"/> when given.
    /// </summary>
    internal static async Task<(T? Body, IResult? Error)> ReadBodyAsync<T>(HttpContext context, JsonTypeInfo<T> type, string example, T? empty = null)
        where T : class
    {
        if (MissingCredential(context) is { } missing)
        {
            return (null, missing);
        }

        var request = context.Request;
        if (empty is not null && (request.ContentLength == 0 || (request.ContentLength is null && string.IsNullOrEmpty(request.Headers.TransferEncoding))))
        {
            return (empty, null);
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted);
            return body is null
                ? (null, OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_body", $"The body must be a JSON object like {example}."))
                : (body, null);
        }
        catch (JsonException e)
        {
            // "$.models[0]" names the field; a syntax error has no path worth showing.
            var field = e.Path is { Length: > 2 } path ? path[2..].Split('[', '.')[0] : null;
            return (null, field is { Length: > 0 }
                ? OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_body", $"'{field}' has the wrong type or format; expected a body like {example}.", field)
                : OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_body", $"The body must be a JSON object like {example}."));
        }
    }

    /// <summary>
    /// Calls policy with the caller's credential and turns the reply into <paramref name="answer"/>,
    /// or a gRPC error into its OpenAI-style HTTP error.
    /// </summary>
    internal static async Task<IResult> RelayAsync<TReply>(HttpContext context, Func<CallOptions, AsyncUnaryCall<TReply>> call, Func<TReply, IResult> answer)
        where TReply : class
    {
        var (reply, error) = await CallAsync(context, call);
        return error ?? answer(reply!);
    }

    /// <summary>Calls policy with the caller's credential: the reply, or the HTTP error to send.</summary>
    internal static async Task<(TReply? Reply, IResult? Error)> CallAsync<TReply>(HttpContext context, Func<CallOptions, AsyncUnaryCall<TReply>> call)
        where TReply : class
    {
        if (MissingCredential(context) is { } missing)
        {
            return (null, missing);
        }

        try
        {
            return (await call(CallOptionsFor(context)), null);
        }
        catch (RpcException e) when (!context.RequestAborted.IsCancellationRequested)
        {
            return (null, FromRpc(e));
        }
    }

    /// <summary>A policy call on behalf of the caller: their credential, <see cref="PolicyDeadline"/>, cancelled with the request.</summary>
    internal static CallOptions CallOptionsFor(HttpContext context) => new(
        new Metadata { { "authorization", "Bearer " + ClientKey.From(context.Request) } },
        DateTime.UtcNow + PolicyDeadline,
        context.RequestAborted);

    /// <summary>
    /// Policy's status as HTTP: Unauthenticated 401, PermissionDenied 403, InvalidArgument 400,
    /// NotFound 404, AlreadyExists and FailedPrecondition 409 (a conflict with what exists), anything
    /// else 503. Policy's message is shown as is (it never contains a secret); its <c>param</c>
    /// trailer becomes OpenAI's <c>param</c>.
    /// </summary>
    internal static IResult FromRpc(RpcException e)
    {
        var param = e.Trailers.GetValue("param");
        return e.StatusCode switch
        {
            StatusCode.Unauthenticated => OpenAiError.Result(401, OpenAiError.Authentication, "invalid_admin_key", e.Status.Detail),
            StatusCode.PermissionDenied => OpenAiError.Result(403, OpenAiError.Permission, "admin_required", e.Status.Detail),
            StatusCode.InvalidArgument => OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_value", e.Status.Detail, param),
            StatusCode.NotFound => OpenAiError.Result(404, OpenAiError.InvalidRequest, "not_found", e.Status.Detail, param),
            StatusCode.AlreadyExists => OpenAiError.Result(409, OpenAiError.InvalidRequest, "already_exists", e.Status.Detail, param),
            StatusCode.FailedPrecondition => OpenAiError.Result(409, OpenAiError.InvalidRequest, "conflict", e.Status.Detail, param),
            _ => OpenAiError.Result(503, OpenAiError.ServiceUnavailable, "policy_unavailable", "The gateway cannot run admin calls right now; retry shortly."),
        };
    }

    private static IResult? MissingCredential(HttpContext context) => ClientKey.From(context.Request) is null
        ? OpenAiError.Result(401, OpenAiError.Authentication, "invalid_api_key",
            "Missing admin credential: send 'Authorization: Bearer <GATEWAY_ADMIN_KEY>' or an admin's personal token.")
        : null;
}
