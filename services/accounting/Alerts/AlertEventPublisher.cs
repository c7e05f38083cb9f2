using Gateway.Aspire.ServiceDefaults.Events;
using StackExchange.Redis;
using Gateway.Aspire.ServiceDefaults.Data;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>
/// Puts <c>model.budget.warning</c> / <c>model.budget.exceeded</c> on the gateway's event feed
/// (<see cref="GatewayEventChannel"/>): appended to the capped stream when the server has streams,
/// and always published on the channel. Kept alone so one general event publisher can replace it.
/// </summary>
public sealed class AlertEventPublisher(IConnectionMultiplexer redis)
{
    // Set once a server answers XADD with "unknown command" (a Redis before 5, some compatibles).
    private volatile bool _noStreams;

    /// <summary>Publishes one event (a JSON object with <c>type</c>, <c>time</c> and <c>id</c>).</summary>
    public async Task PublishAsync(byte[] json)
    {
        var database = redis.GetDatabase();
        if (!_noStreams)
        {
            try
            {
                await database.StreamAddAsync(
                    GatewayEventChannel.Stream, "event", json, maxLength: GatewayEventChannel.StreamMaxLength, useApproximateMaxLength: true);
            }
            catch (RedisServerException e) when (e.Message.Contains("unknown command", StringComparison.OrdinalIgnoreCase))
            {
                _noStreams = true;
            }
        }

        await database.PublishAsync(RedisChannels.For(redis, GatewayEventChannel.Channel), json);
    }
}
