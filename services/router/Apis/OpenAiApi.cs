using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Apis;

/// <summary>The OpenAI-compatible API under <c>/v1</c>.</summary>
public static class OpenAiApi
{
    /// <summary>Maps <c>POST /v1/chat/completions</c>, <c>GET /v1/models</c> and an OpenAI-style 404 for the rest of <c>/v1</c>.</summary>
    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapPost("/chat/completions", (HttpContext context, IChatCompletionsForwarder forwarder) => forwarder.ForwardAsync(context));
        v1.MapGet("/models", ListModelsAsync);
        v1.Map("/{**path}", (HttpRequest request) => OpenAiError.Result(404, OpenAiError.InvalidRequest, "unknown_url",
            $"Unknown request URL: {request.Method} {request.Path}. Supported: POST /v1/chat/completions, GET /v1/models."));
        return app;
    }

    /// <summary>The catalog models the caller's key may use, in OpenAI's list format.</summary>
    internal static async Task<IResult> ListModelsAsync(
        HttpContext context, ModelCatalog catalog, Admission.AdmissionClient admission, IOptions<RouterOptions> options, TimeProvider time)
    {
        var requestId = RequestIds.FromHeaderOrNew(context.Request.Headers["x-request-id"].ToString(), time);
        context.Response.Headers["x-request-id"] = requestId;
        if (BearerToken.From(context.Request) is not { } token)
        {
            return OpenAiError.Result(401, OpenAiError.Authentication, "invalid_api_key", "Missing API key: send 'Authorization: Bearer <token>'.");
        }

        AdmitReply admit;
        try
        {
            admit = await admission.AdmitAsync(new AdmitRequest { Token = token, RequestId = requestId },
                deadline: DateTime.UtcNow + options.Value.PolicyTimeout, cancellationToken: context.RequestAborted);
        }
        catch (RpcException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return OpenAiError.Result(503, OpenAiError.ServiceUnavailable, "policy_unavailable", "The gateway cannot check keys right now; retry shortly.");
        }

        if (admit.Decision != AdmitDecision.Allowed)
        {
            return OpenAiError.Result(401, OpenAiError.Authentication, "invalid_api_key", string.IsNullOrEmpty(admit.Message) ? "Incorrect API key provided." : admit.Message);
        }

        var allowed = admit.AllowedModels.Count == 0 ? null : admit.AllowedModels.ToHashSet(StringComparer.Ordinal);
        var models = catalog.Models
            .Where(m => allowed is null || allowed.Contains(m.Id))
            .Select(m => new ModelListEntry(m.Id, "model", catalog.Created, m.Account.Name))
            .ToArray();
        return TypedResults.Json(new ModelListResponse("list", models), RouterJsonContext.Web.ModelListResponse);
    }
}

/// <summary>OpenAI's model list.</summary>
public sealed record ModelListResponse(string Object, IReadOnlyList<ModelListEntry> Data);

/// <summary>One model of <see cref="ModelListResponse"/>.</summary>
public sealed record ModelListEntry(string Id, string Object, long Created, string OwnedBy);
