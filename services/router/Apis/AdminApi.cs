using System.Text.Json;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Grpc.Core;

namespace Gateway.Aspire.Router.Apis;

/// <summary>The admin API under <c>/admin/v1</c>; policy checks the admin key.</summary>
public static class AdminApi
{
    /// <summary>Maps <c>POST /admin/v1/tokens</c>, the routing views (<see cref="RoutingAdminApi"/>) and the usage analytics (<see cref="AnalyticsApi"/>).</summary>
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/admin/v1/tokens", CreateTokenAsync);
        app.MapRoutingAdminApi();
        app.MapAnalyticsApi();
        return app;
    }

    /// <summary>Creates a token through policy; the secret is in this answer and never again.</summary>
    internal static async Task<IResult> CreateTokenAsync(HttpContext context, Tokens.TokensClient tokens, ModelCatalog catalog, Routing.RouteTable routes)
    {
        if (ClientKey.From(context.Request) is null)
        {
            return OpenAiError.Result(401, OpenAiError.Authentication, "invalid_api_key", "Missing admin key: send 'Authorization: Bearer <GATEWAY_ADMIN_KEY>'.");
        }

        CreateTokenBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(context.Request.Body, RouterJsonContext.Default.CreateTokenBody, context.RequestAborted);
        }
        catch (JsonException)
        {
            return OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_body", "The body must be JSON like {\"name\": \"ci\", \"models\": [\"mock/gpt-4o-mini\"]}.");
        }

        if (body is null || string.IsNullOrWhiteSpace(body.Name))
        {
            return OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_body", "'name' is required.", "name");
        }

        var unknown = body.Models?.FirstOrDefault(m => !catalog.TryResolve(m, out _) && !routes.VirtualModels.Contains(m));
        if (unknown is not null)
        {
            return OpenAiError.Result(400, OpenAiError.InvalidRequest, "model_not_found", $"Unknown model '{unknown}'; models are named '<account>/<model>' or are virtual models of gateway-load-balancing-config rules.", "models");
        }

        var request = new CreateTokenRequest { Name = body.Name };
        request.Models.AddRange(body.Models ?? []);
        if (body.ExpiresAt is { } expiresAt)
        {
            request.ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(expiresAt);
        }

        try
        {
            var reply = await tokens.CreateTokenAsync(request,
                new Metadata { { "authorization", context.Request.Headers.Authorization.ToString() } },
                deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: context.RequestAborted);
            return TypedResults.Json(
                new CreatedTokenResponse(reply.Id, reply.Name, reply.Token, reply.Models, reply.CreatedAt?.ToDateTimeOffset(), reply.ExpiresAt?.ToDateTimeOffset()),
                RouterJsonContext.Web.CreatedTokenResponse, statusCode: 201);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
        {
            return OpenAiError.Result(401, OpenAiError.Authentication, "invalid_admin_key", "Invalid admin key.");
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument)
        {
            return OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_body", e.Status.Detail);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.AlreadyExists)
        {
            return OpenAiError.Result(409, OpenAiError.InvalidRequest, "token_exists", e.Status.Detail, "name");
        }
        catch (RpcException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return OpenAiError.Result(503, OpenAiError.ServiceUnavailable, "policy_unavailable", "The gateway cannot create tokens right now; retry shortly.");
        }
    }
}

/// <summary>Body of <c>POST /admin/v1/tokens</c>.</summary>
public sealed record CreateTokenBody(string? Name, IReadOnlyList<string>? Models, DateTimeOffset? ExpiresAt);

/// <summary>Answer of <c>POST /admin/v1/tokens</c>; <c>token</c> is shown this once.</summary>
public sealed record CreatedTokenResponse(string Id, string Name, string Token, IReadOnlyList<string> Models, DateTimeOffset? CreatedAt, DateTimeOffset? ExpiresAt);
