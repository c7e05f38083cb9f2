using Gateway.Aspire.ServiceDefaults.Configuration;
using StackExchange.Redis;
using Gateway.Aspire.ServiceDefaults.Data;

namespace Gateway.Aspire.Policy.Configuration;

/// <summary>
/// Publishes the effective configuration for every replica of every service: writes it to the Redis
/// hash <see cref="LiveConfigChannel.Key"/> and announces the version on
/// <see cref="LiveConfigChannel.Channel"/>, in one script so the two never disagree. The hash only
/// moves forward: a version lower than the one stored is dropped, so a slow publisher (or a replica
/// starting while another applies) cannot put an older configuration back. An equal version is
/// written, because at start the configuration file may have changed under the same version.
/// </summary>
/// <remarks>
/// Publishing happens after the commit: a failure leaves PostgreSQL ahead of Redis, and
/// <see cref="ConfigPublication"/> publishes again until it succeeds.
/// </remarks>
internal sealed class ConfigPublisher(IConnectionMultiplexer redis)
{
    private static readonly LuaScript s_publish = LuaScript.Prepare(
        """
        local current = tonumber(redis.call('HGET', @key, @versionField))
        if current and current > tonumber(@version) then return 0 end
        redis.call('HSET', @key, @versionField, @version, @yamlField, @yaml)
        redis.call('PUBLISH', @channel, @version)
        return 1
        """);

    /// <summary>Writes and announces <paramref name="yaml"/> as <paramref name="version"/>; false when Redis already holds a newer one.</summary>
    public async Task<bool> PublishAsync(long version, string yaml)
    {
        var database = redis.GetDatabase();
        var result = await database.ScriptEvaluateAsync(s_publish, new
        {
            key = (RedisKey)LiveConfigChannel.Key,
            versionField = LiveConfigChannel.VersionField,
            yamlField = LiveConfigChannel.YamlField,
            version,
            yaml,
            // The script publishes, so it gets the database's channel name (RedisChannels) as an argument.
            channel = RedisChannels.Name(LiveConfigChannel.Channel, database.Database),
        });
        return (long)result == 1;
    }
}
