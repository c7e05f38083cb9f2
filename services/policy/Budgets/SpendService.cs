using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Grpc.Core;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Budgets;

/// <summary>The admin calls on budget spend counters (<see cref="SpendRebuild"/>); admin credential required.</summary>
public sealed class SpendService(AdminAuthenticator authenticator, SpendRebuild rebuild, TimeProvider time, ILogger<SpendService> logger)
    : Grpc.Spend.SpendBase
{
    /// <summary>Most ledger groups one rebuild takes.</summary>
    public const int MaxGroups = 1_000_000;

    /// <inheritdoc />
    public override async Task<RebuildScopeReply> RebuildScope(RebuildScopeRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        return rebuild.Scope(time.GetUtcNow());
    }

    /// <inheritdoc />
    public override async Task<RebuildSpendReply> Rebuild(RebuildSpendRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        if (request.Now is null || request.Groups.Count > MaxGroups)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"now is required, and at most {MaxGroups} groups are taken."));
        }

        try
        {
            var reply = await rebuild.RebuildAsync(request.Now.ToDateTimeOffset(), request.Groups, context.CancellationToken);
            PolicyLog.SpendRebuilt(logger, request.Groups.Count, reply.Counters.Count, reply.Removed);
            return reply;
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            PolicyLog.RateLimitStoreUnavailable(logger, "spend-rebuild", e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The budget store is unavailable; retry shortly."));
        }
    }
}
