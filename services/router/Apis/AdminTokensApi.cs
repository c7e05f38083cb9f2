using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// <c>/admin/v1/tokens</c>: create (the secret is in that answer and never again), list (no
/// secrets), revoke and rotate, relayed to policy's Tokens service.
/// </summary>
public static class AdminTokensApi
{
    private const string CreateExample = """{"name": "billing-app", "team": "platform", "models": ["mock/gpt-4o-mini"]}""";

    /// <summary>Maps the token endpoints on the <c>/admin/v1</c> group.</summary>
    public static RouteGroupBuilder MapAdminTokensApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/tokens", CreateTokenAsync);
        admin.MapGet("/tokens", (HttpContext context, Tokens.TokensClient tokens) => AdminApi.RelayAsync(context,
            options => tokens.ListTokensAsync(new ListTokensRequest(), options),
            reply => TypedResults.Json(new AdminList<TokenResponse>("list", [.. reply.Tokens.Select(TokenResponse.From)]), RouterJsonContext.Web.AdminListTokenResponse)));
        admin.MapDelete("/tokens/{id}", (string id, HttpContext context, Tokens.TokensClient tokens) => AdminApi.RelayAsync(context,
            options => tokens.RevokeTokenAsync(new RevokeTokenRequest { Id = id }, options),
            _ => TypedResults.NoContent()));
        admin.MapPost("/tokens/{id}/rotate", RotateTokenAsync);
        return admin;
    }

    /// <summary>Creates a token through policy; the secret is in this answer and never again.</summary>
    internal static async Task<IResult> CreateTokenAsync(HttpContext context, Tokens.TokensClient tokens, LiveConfig<RouterConfig> live)
    {
        var (body, error) = await AdminApi.ReadBodyAsync(context, RouterJsonContext.Default.CreateTokenBody, CreateExample);
        if (error is not null)
        {
            return error;
        }

        if (string.IsNullOrWhiteSpace(body!.Name))
        {
            return OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_body", "'name' is required.", "name");
        }

        if (UnknownModel(body.Models, live.Current) is { } unknown)
        {
            return unknown;
        }

        var request = new CreateTokenRequest { Name = body.Name, Kind = body.Kind ?? "", User = body.User ?? "", Team = body.Team ?? "" };
        request.Models.AddRange(body.Models ?? []);
        if (body.ExpiresAt is { } expiresAt)
        {
            request.ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(expiresAt);
        }

        return await AdminApi.RelayAsync(context, options => tokens.CreateTokenAsync(request, options), Created);
    }

    /// <summary>Issues a new secret; the old one works for <c>grace_seconds</c> (default 24 h, 0: revoked now).</summary>
    internal static async Task<IResult> RotateTokenAsync(string id, HttpContext context, Tokens.TokensClient tokens)
    {
        var (body, error) = await AdminApi.ReadBodyAsync(context, RouterJsonContext.Default.RotateTokenBody, """{"grace_seconds": 3600}""", new RotateTokenBody(null));
        if (error is not null)
        {
            return error;
        }

        var request = new RotateTokenRequest { Id = id };
        if (body!.GraceSeconds is { } grace)
        {
            request.GraceSeconds = grace;
        }

        return await AdminApi.RelayAsync(context, options => tokens.RotateTokenAsync(request, options), Created);
    }

    /// <summary>400 naming the first model the configuration in force does not know, or null.</summary>
    internal static IResult? UnknownModel(IReadOnlyList<string>? models, RouterConfig config) =>
        models?.FirstOrDefault(m => !config.Catalog.TryResolve(m, out _) && !config.Routes.VirtualModels.Contains(m)) is { } unknown
            ? OpenAiError.Result(400, OpenAiError.InvalidRequest, "model_not_found", $"Unknown model '{unknown}'; models are named '<account>/<model>' or are virtual models of gateway-load-balancing-config rules.", "models")
            : null;

    private static IResult Created(CreateTokenReply reply) =>
        TypedResults.Json(TokenResponse.From(reply), RouterJsonContext.Web.TokenResponse, statusCode: 201);
}
