using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Tests.Telemetry;

/// <summary>
/// A router with its own real Redis (events go to the stream and the pub/sub channel) and response
/// signing on, in front of the assembly's mock upstream and gRPC doubles. Its models are the
/// assembly router's accounts plus <c>tele/gpt-4o-mini</c>, which no other router has, so metric
/// labels of this class's calls are its own (every app in the test process shares the meters' listener).
/// </summary>
public sealed class TelemetryAppFixture : IAsyncLifetime
{
    /// <summary>The signing secret of this router.</summary>
    public const string SigningSecret = "test-signing-secret-0123456789abcdef";

    /// <summary>The model only this router serves.</summary>
    public const string Model = "tele/gpt-4o-mini";

    private readonly RedisServerFixture _redis = new();
    private readonly SemaphoreSlim _start = new(1, 1);
    private WebApplication? _router;
    private string? _directory;

    /// <summary>The router.</summary>
    public WebApplication Router => _router!;

    /// <summary>Its address.</summary>
    public Uri RouterUrl => new(_router!.Urls.First());

    /// <summary>A connection to the router's Redis database.</summary>
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    /// <summary>Starts Redis and the router once, on the mock and doubles of <paramref name="baseFixture"/>.</summary>
    public async Task StartAsync(RouterAppFixture baseFixture)
    {
        await _start.WaitAsync();
        try
        {
            if (_router is not null)
            {
                return;
            }

            await _redis.InitializeAsync();
            _directory = TestDirectories.Create("telemetry");
            var configPath = Path.Combine(_directory, "gateway.yaml");
            var yaml = RouterAppFixture.GatewayYaml(baseFixture.MockUrl, RouterAppFixture.FreePort());
            var tele = yaml.Split("---\n")[1].Replace("name: mock", "name: tele", StringComparison.Ordinal);
            await File.WriteAllTextAsync(configPath, $"{yaml}\n---\n{tele}");
            var redis = _redis.NextDatabase();
            _router = RouterAppFixture.BuildRouter(configPath, baseFixture.GrpcUrl.ToString().TrimEnd('/'), new Dictionary<string, string?>
            {
                ["ConnectionStrings:redis"] = redis,
                ["Router:Signing:Secret"] = SigningSecret,
            });
            await _router.StartAsync();
            Redis = await ConnectionMultiplexer.ConnectAsync(redis);
        }
        finally
        {
            _start.Release();
        }
    }

    /// <summary>A client of the router with <paramref name="token"/> as bearer.</summary>
    public HttpClient Client(string? token = TestPolicy.GoodToken)
    {
        var client = new HttpClient { BaseAddress = RouterUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        }

        return client;
    }

    /// <inheritdoc />
    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_router is not null)
        {
            await _router.StopAsync();
            await _router.DisposeAsync();
            await Redis.DisposeAsync();
        }

        await _redis.DisposeAsync();
        if (_directory is not null)
        {
            TestDirectories.Delete(_directory);
        }
    }
}

/// <summary>
/// The classes that use <see cref="TelemetryAppFixture"/>: one router and Redis for all of them, run
/// one after the other so that the metrics each class scrapes move only with its own calls.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TelemetryCollection : ICollectionFixture<TelemetryAppFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "telemetry";
}
