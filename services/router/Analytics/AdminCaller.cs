using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Grpc.Core;

namespace Gateway.Aspire.Router.Analytics;

/// <summary>
/// Who is calling an analytics endpoint, as policy says: every team (the admin key) or one team
/// (a team admin, once policy reports them), whose view is then restricted to that team.
/// </summary>
internal static class AdminCaller
{
    /// <summary>
    /// Checks the caller's admin key with policy and settles the team filter: a gateway admin may
    /// ask for any team through <paramref name="requestedTeam"/> (empty: all); a team admin gets
    /// their own team, and 403 for another. On failure <c>Error</c> is the answer to send.
    /// </summary>
    public static async Task<(IResult? Error, string Team)> AuthorizeAsync(HttpContext context, Tokens.TokensClient tokens, string requestedTeam)
    {
        if (ClientKey.From(context.Request) is null)
        {
            return (OpenAiError.Result(401, OpenAiError.Authentication, "invalid_api_key", "Missing admin key: send 'Authorization: Bearer <GATEWAY_ADMIN_KEY>'."), "");
        }

        AuthorizeAdminReply reply;
        try
        {
            reply = await tokens.AuthorizeAdminAsync(new AuthorizeAdminRequest(),
                new Metadata { { "authorization", context.Request.Headers.Authorization.ToString() } },
                deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: context.RequestAborted);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
        {
            // 401 for a wrong credential, 403 for a valid token that is not an admin's: as every admin call answers.
            return (Apis.AdminApi.FromRpc(e), "");
        }
        catch (RpcException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return (OpenAiError.Result(503, OpenAiError.ServiceUnavailable, "policy_unavailable", "The gateway cannot check admin keys right now; retry shortly."), "");
        }

        if (reply.Team.Length == 0)
        {
            return (null, requestedTeam);
        }

        if (requestedTeam.Length > 0 && requestedTeam != reply.Team)
        {
            return (OpenAiError.Result(403, OpenAiError.Permission, "team_not_allowed", $"This admin key sees only team '{reply.Team}'.", "team"), "");
        }

        return (null, reply.Team);
    }
}
