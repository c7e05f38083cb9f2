using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Apis;

/// <summary>The OpenAI-compatible API under <c>/v1</c>.</summary>
public static class OpenAiApi
{
    /// <summary>
    /// Maps the model endpoints (<see cref="InboundApi.All"/>: chat, messages, completions,
    /// embeddings, moderations, images, audio, rerank), <c>GET /v1/models</c> and <c>/v1/models/{id}</c>,
    /// and an OpenAI-style 404 for the rest of <c>/v1</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        // Moderations has its own handler: the gateway's classifier answers unless a catalog model is named.
        v1.MapPost("/moderations", ModerationsApi.ModerateAsync);
        v1.MapPost("/messages/count_tokens", CountTokensApi.CountAsync);
        foreach (var api in InboundApi.All.Where(a => a != InboundApi.Moderations))
        {
            app.MapPost(api.Path, (HttpContext context, IRequestForwarder forwarder) => forwarder.ForwardAsync(context, api));
        }

        v1.MapGet("/models", ListModelsAsync);
        v1.MapGet("/models/{**id}", GetModelAsync);
        v1.Map("/{**path}", (HttpRequest request) => OpenAiError.Result(404, OpenAiError.InvalidRequest, "unknown_url",
            $"Unknown request URL: {request.Method} {request.Path}. Supported: POST {string.Join(", ", InboundApi.All.Select(a => a.Path))}, /v1/messages/count_tokens; GET /v1/models, /v1/models/{{id}}."));
        return app;
    }

    /// <summary>The catalog models and virtual models (load-balancing rules) the caller's key may use, in OpenAI's list format.</summary>
    internal static async Task<IResult> ListModelsAsync(
        HttpContext context, LiveConfig<RouterConfig> live, Admission.AdmissionClient admission, IOptions<RouterOptions> options, TimeProvider time)
    {
        var (entries, error) = await VisibleEntriesAsync(context, live.Current, admission, options, time);
        return error ?? TypedResults.Json(new ModelListResponse("list", entries!), RouterJsonContext.Web.ModelListResponse);
    }

    /// <summary>One model the caller's key may use; 404 in OpenAI's words for any other id, so a denied model is not revealed.</summary>
    internal static async Task<IResult> GetModelAsync(
        string id, HttpContext context, LiveConfig<RouterConfig> live, Admission.AdmissionClient admission, IOptions<RouterOptions> options, TimeProvider time)
    {
        var (entries, error) = await VisibleEntriesAsync(context, live.Current, admission, options, time);
        if (error is not null)
        {
            return error;
        }

        // Ids are "account/model". The OpenAI SDKs escape the slash (%2F), which Kestrel leaves encoded
        // in the path (it decodes every escape but that one), so the route value still holds it.
        id = id.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        return entries!.FirstOrDefault(m => m.Id == id) is { } model
            ? TypedResults.Json(model, RouterJsonContext.Web.ModelListEntry)
            : OpenAiError.Result(404, OpenAiError.InvalidRequest, "model_not_found", $"The model '{id}' does not exist or you do not have access to it.", "model");
    }

    /// <summary>
    /// Authenticates the caller (one Admit without a model) and lists the catalog models, then the
    /// virtual models (owned by <c>gateway</c>), that its key may use.
    /// </summary>
    private static async Task<(IReadOnlyList<ModelListEntry>? Entries, IResult? Error)> VisibleEntriesAsync(
        HttpContext context, RouterConfig config, Admission.AdmissionClient admission, IOptions<RouterOptions> options, TimeProvider time)
    {
        var (catalog, routes) = config;
        var (admit, error) = await AuthenticateAsync(context, admission, options, time);
        if (error is not null)
        {
            return (null, error);
        }

        var allowed = admit!.AllowedModels.Count == 0 ? null : admit.AllowedModels.ToHashSet(StringComparer.Ordinal);
        IEnumerable<ModelListEntry> catalogEntries = catalog.Models
            .Where(m => allowed is null || allowed.Contains(m.Id))
            .Select(m => new ModelListEntry(m.Id, "model", catalog.Created, m.Account.Name));
        var virtualEntries = routes.VirtualModels
            .Where(v => allowed is null || allowed.Contains(v))
            .Select(v => new ModelListEntry(v, "model", catalog.Created, "gateway"));
        return ([.. catalogEntries, .. virtualEntries], null);
    }

    /// <summary>
    /// Checks the caller's key with one Admit that names no model (nothing is counted against
    /// limits); sets <c>x-request-id</c>. Returns the answer, or the OpenAI-style error to send.
    /// </summary>
    internal static async Task<(AdmitReply? Admit, IResult? Error)> AuthenticateAsync(
        HttpContext context, Admission.AdmissionClient admission, IOptions<RouterOptions> options, TimeProvider time,
        Providers.WireFormat format = Providers.WireFormat.OpenAi)
    {
        var requestId = RequestIds.FromHeaderOrNew(context.Request.Headers["x-request-id"].ToString(), time);
        context.Response.Headers["x-request-id"] = requestId;
        if (ClientKey.From(context.Request) is not { } token)
        {
            return (null, ClientErrors.Result(format, 401, OpenAiError.Authentication, "invalid_api_key", "Missing API key: send 'Authorization: Bearer <token>' or 'x-api-key: <token>'."));
        }

        AdmitReply admit;
        try
        {
            admit = await admission.AdmitAsync(new AdmitRequest { Token = token, RequestId = requestId },
                deadline: DateTime.UtcNow + options.Value.PolicyTimeout, cancellationToken: context.RequestAborted);
        }
        catch (RpcException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return (null, ClientErrors.Result(format, 503, OpenAiError.ServiceUnavailable, "policy_unavailable", "The gateway cannot check keys right now; retry shortly."));
        }

        if (admit.Decision != AdmitDecision.Allowed)
        {
            return (null, ClientErrors.Result(format, 401, OpenAiError.Authentication, "invalid_api_key", string.IsNullOrEmpty(admit.Message) ? "Incorrect API key provided." : admit.Message));
        }

        return (admit, null);
    }
}

/// <summary>OpenAI's model list.</summary>
public sealed record ModelListResponse(string Object, IReadOnlyList<ModelListEntry> Data);

/// <summary>One model of <see cref="ModelListResponse"/>.</summary>
public sealed record ModelListEntry(string Id, string Object, long Created, string OwnedBy);
