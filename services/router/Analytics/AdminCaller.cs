using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Grpc.Core;

namespace Gateway.Aspire.Router.Analytics;

/// <summary>
/// Who is calling an analytics endpoint, as policy says: every team (the admin key, an admin user)
/// or the teams a team admin administers, whose view is then restricted to one of them.
/// </summary>
internal static class AdminCaller
{
    /// <summary>
    /// Checks the caller's admin key with policy and settles the team filter: a gateway admin may
    /// ask for any team through <paramref name="requestedTeam"/> (empty: all); a team admin gets
    /// their team (naming one when they administer several, else 400), and 403 for another. On
    /// failure <c>Error</c> is the answer to send.
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

        IReadOnlyList<string> teams = reply.Teams.Count > 0 ? reply.Teams : reply.Team.Length > 0 ? [reply.Team] : [];
        if (teams.Count == 0)
        {
            return (null, requestedTeam);
        }

        if (requestedTeam.Length > 0)
        {
            return teams.Contains(requestedTeam, StringComparer.Ordinal)
                ? (null, requestedTeam)
                : (OpenAiError.Result(403, OpenAiError.Permission, "team_not_allowed", $"This admin key sees only team {string.Join(", ", teams.Select(t => $"'{t}'"))}.", "team"), "");
        }

        // An admin of several teams names the one to look at: no answer mixes teams.
        return teams.Count == 1
            ? (null, teams[0])
            : (OpenAiError.Result(400, OpenAiError.InvalidRequest, "team_required", $"This admin key administers several teams ({string.Join(", ", teams)}): pass team=<name>.", "team"), "");
    }
}
