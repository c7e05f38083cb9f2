using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>
/// Connects to Redis while the host starts, before Kestrel takes traffic. The multiplexer is a lazy
/// singleton whose first resolution connects synchronously; left to the first burst of Admit calls,
/// every request thread would block on that one connect and starve the thread pool.
/// </summary>
internal sealed class TokenStoreWarmup(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<IConnectionMultiplexer>();
        _ = services.GetRequiredService<TokenLookup>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
