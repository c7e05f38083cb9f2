using StackExchange.Redis;

namespace Gateway.Aspire.ServiceDefaults.Data;

/// <summary>
/// Names of the gateway's Redis pub/sub channels, scoped to the connection's database. Keys live in a
/// database, channels do not: Redis delivers a <c>PUBLISH</c> to every subscriber of the server,
/// whatever database either side selected. Two gateways sharing one server on different databases
/// (<c>redis:6379,defaultDatabase=3</c>) would otherwise see each other's events, configuration
/// notices and token invalidations. So a channel on database N is <c>&lt;name&gt;:db&lt;N&gt;</c>, and on
/// database 0 plain <c>&lt;name&gt;</c> (what every gateway used before, so a single gateway on the
/// default database keeps its channel names). Every publisher and subscriber names its channel here.
/// </summary>
/// <remarks>
/// The database, not a configured namespace: it is the isolation operators already chose for the
/// keys, so channels follow with nothing more to configure or to get wrong. Gateways that share one
/// database share everything (keys and channels) by design; Redis Cluster has only database 0.
/// </remarks>
public static class RedisChannels
{
    /// <summary>The channel <paramref name="name"/> on database <paramref name="database"/>.</summary>
    public static string Name(string name, int database) => database == 0 ? name : $"{name}:db{database}";

    /// <summary>The channel <paramref name="name"/> on the default database of <paramref name="redis"/> (its <c>defaultDatabase</c>, else 0).</summary>
    public static RedisChannel For(IConnectionMultiplexer redis, string name) =>
        RedisChannel.Literal(Name(name, redis.GetDatabase().Database));
}
