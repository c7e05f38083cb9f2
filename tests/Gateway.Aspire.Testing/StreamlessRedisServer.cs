using Gateway.Aspire.Hosting.Servers;

namespace Gateway.Aspire.Testing;

/// <summary>
/// A real redis-server without streams: its config file renames <c>XADD</c> away, so it answers as a
/// Redis before 5 or a compatible server without streams does.
/// </summary>
public static class StreamlessRedisServer
{
    /// <summary>Starts one with its config and data under <paramref name="directory"/> (the caller deletes it).</summary>
    public static async Task<RedisServer> StartAsync(string directory, CancellationToken cancellationToken)
    {
        var config = Path.Combine(directory, "redis.conf");
        await File.WriteAllTextAsync(config, "rename-command XADD \"\"\n", cancellationToken);
        return await RedisServer.StartAsync(
            new RedisServerOptions { DataDirectory = Path.Combine(directory, "data"), Output = TextWriter.Null, ConfigFile = config }, cancellationToken);
    }
}
