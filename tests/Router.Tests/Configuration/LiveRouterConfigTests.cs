using System.Net;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Gateway.Aspire.Testing;
using static Gateway.Aspire.Router.Tests.Routing.RoutingTestClient;

namespace Gateway.Aspire.Router.Tests.Configuration;

/// <summary>
/// The model catalog and the routing table follow the live configuration (Redis hash +
/// announcement) on two router replicas sharing one Redis, in front of the assembly's mock upstream.
/// </summary>
public sealed class LiveRouterConfigTests(RouterAppFixture app, RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly List<WebApplication> _routers = [];
    private string _redis = "";
    private string _directory = "";
    private string _configPath = "";
    private string _fileYaml = "";
    private LiveConfigWriter? _writer;

    public async ValueTask InitializeAsync()
    {
        _redis = redis.NextDatabase();
        _writer = await LiveConfigWriter.ConnectAsync(_redis);
        _directory = TestDirectories.Create("router-live");
        _configPath = Path.Combine(_directory, "gateway.yaml");
        _fileYaml = RouterAppFixture.GatewayYaml(app.MockUrl, RouterAppFixture.FreePort());
        await File.WriteAllTextAsync(_configPath, _fileYaml, Cancellation);
        await StartRouterAsync();
        await StartRouterAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var router in _routers)
        {
            await router.StopAsync();
            await router.DisposeAsync();
        }

        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }

        TestDirectories.Delete(_directory);
    }

    [Fact]
    public async Task PublishedAccountAndVirtualModel_AreListedAndRouted_OnBothReplicas_AndALateReplicaStartsWithThem()
    {
        // Both replicas have served a call (connections, JIT), so the wait below measures the reload only.
        Assert.False(await ListsAsync(_routers[0], "fresh/gpt-4o-mini"));
        Assert.False(await ListsAsync(_routers[1], "fresh-chat"));

        await _writer!.PublishAsync(1, WithFreshAccount());

        var first = await LiveConfigWriter.UntilAsync(() => ListsAsync(_routers[0], "fresh/gpt-4o-mini"), "replica A lists fresh/gpt-4o-mini");
        var second = await LiveConfigWriter.UntilAsync(() => ListsAsync(_routers[1], "fresh-chat"), "replica B lists fresh-chat");
        TestContext.Current.TestOutputHelper?.WriteLine($"reload observed after {first.TotalMilliseconds:0} ms and {second.TotalMilliseconds:0} ms");

        using var clientB = Client(_routers[1]);
        var (direct, _) = await ChatAsync(clientB, "fresh/gpt-4o-mini");
        Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
        using var clientA = Client(_routers[0]);
        var (routed, _) = await ChatAsync(clientA, "fresh-chat");
        Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
        Assert.Equal("fresh/gpt-4o-mini", Header(routed, "x-gateway-model"));

        var late = await StartRouterAsync();
        Assert.True(await ListsAsync(late, "fresh-chat"));
    }

    [Fact]
    public async Task InvalidPublish_KeepsTheCatalog_AndARemovedModelIsGoneOnTheNextVersion()
    {
        await _writer!.PublishAsync(1, WithFreshAccount());
        await LiveConfigWriter.UntilAsync(() => Task.FromResult(_routers.All(r => Live(r).Version == 1)), "both replicas on version 1");

        await _writer.PublishAsync(2, WithFreshAccount() + "\n---\ntype: gateway-mystery-config\n");
        await LiveConfigWriter.UntilAsync(() => Task.FromResult(_routers.All(r => Subscriber(r).RejectedVersion == 2)), "both replicas reject version 2");

        Assert.All(_routers, r => Assert.Equal(1, Live(r).Version));
        Assert.True(await ListsAsync(_routers[1], "fresh/gpt-4o-mini"));

        await _writer.PublishAsync(3, _fileYaml);
        await LiveConfigWriter.UntilAsync(async () => !await ListsAsync(_routers[0], "fresh/gpt-4o-mini") && !await ListsAsync(_routers[1], "fresh-chat"), "both replicas drop fresh");
        using var client = Client(_routers[0]);
        var (gone, _) = await ChatAsync(client, "fresh/gpt-4o-mini");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    private string WithFreshAccount() => $"""
        {_fileYaml}
        ---
        type: provider-account
        name: fresh
        provider: openai-compatible
        base_url: {new Uri(app.MockUrl, "/v1")}
        api_key: ${"{"}MOCK_API_KEY{"}"}
        models:
          - name: gpt-4o-mini
            price: {"{"} input_per_mtok: 0.15, output_per_mtok: 0.60 {"}"}
        ---
        type: gateway-load-balancing-config
        name: live
        rules:
          - id: fresh-chat
            type: priority-based-routing
            when: {"{"} models: [fresh-chat] {"}"}
            load_balance_targets: [{"{"} target: fresh/gpt-4o-mini {"}"}]
        """;

    private async Task<WebApplication> StartRouterAsync()
    {
        var router = RouterAppFixture.BuildRouter(_configPath, app.GrpcUrl.ToString().TrimEnd('/'), new Dictionary<string, string?> { ["ConnectionStrings:redis"] = _redis });
        _routers.Add(router);
        await router.StartAsync(Cancellation);
        return router;
    }

    private static HttpClient Client(WebApplication router) => new()
    {
        BaseAddress = new Uri(router.Urls.First()),
        DefaultRequestHeaders = { Authorization = new("Bearer", TestPolicy.GoodToken) },
    };

    private static async Task<bool> ListsAsync(WebApplication router, string model)
    {
        using var client = Client(router);
        return (await client.GetStringAsync("/v1/models", Cancellation)).Contains($"\"id\":\"{model}\"", StringComparison.Ordinal);
    }

    private static LiveConfig<RouterConfig> Live(WebApplication router) => router.Services.GetRequiredService<LiveConfig<RouterConfig>>();

    private static LiveConfigSubscriber<RouterConfig> Subscriber(WebApplication router) => router.Services.GetRequiredService<LiveConfigSubscriber<RouterConfig>>();
}
