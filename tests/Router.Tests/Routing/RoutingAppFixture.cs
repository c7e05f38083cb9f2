using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.Testing;

namespace Gateway.Aspire.Router.Tests.Routing;

/// <summary>
/// Two router replicas sharing one real Redis, both in front of the assembly's mock upstream and
/// gRPC doubles, with load-balancing rules whose targets each inject one fault through their
/// account headers or <c>headers_override</c> (see <see cref="Rules"/>). Every scenario has its own
/// accounts, so circuit breakers and cool-downs of one test never touch another.
/// </summary>
public sealed class RoutingAppFixture : IAsyncLifetime
{
    /// <summary>Failures that open a circuit in these routers (the default is 5).</summary>
    public const int CircuitThreshold = 3;

    private readonly RedisServerFixture _redis = new();
    private readonly SemaphoreSlim _start = new(1, 1);
    private WebApplication? _a;
    private WebApplication? _b;
    private string? _directory;

    /// <summary>Provider accounts of the scenarios: name and the account headers that make it fail.</summary>
    private static readonly (string Name, string Headers)[] s_accounts =
    [
        ("fb1", "x-mock-status: \"500\""), ("fb2", ""), ("fb3", ""),
        ("rej1", "x-mock-status: \"400\""), ("rej2", ""),
        ("cb1", "x-mock-status: \"503\""), ("cb2", ""),
        ("netdown", ""), ("netreset", ""), ("netslow", ""), ("netok", ""),
        ("retry1", "x-mock-status: \"502\", x-mock-fail-times: \"2\", x-mock-fail-key: retry1"),
        ("msreset", ""), ("mstrunc", ""), ("msstall", ""), ("msbad", ""), ("msok", ""),
        ("w1", ""), ("w2", ""), ("w3", ""),
        ("latfast", "x-mock-output-tokens: \"20\""), ("latslow", "x-mock-output-tokens: \"20\", x-mock-latency-ms: \"200\""),
        ("st1", ""), ("st2", ""),
        ("task", ""),
        ("cache1", "x-mock-status: \"500\""), ("cache2", ""), ("cachebad", ""),
    ];

    /// <summary>The rules under test.</summary>
    public const string Rules = """
        type: gateway-load-balancing-config
        name: routing-tests
        rules:
          - id: fallback
            type: priority-based-routing
            when: { models: [fb-chat] }
            load_balance_targets:
              - { target: fb1/m, priority: 0, retry_config: { attempts: 1, delay: 0 } }
              - { target: fb2/m, priority: 1, headers_override: { set: { x-mock-status: "429", x-mock-retry-after: "30" } } }
              - { target: fb3/m, priority: 2 }
          - id: rejected
            type: priority-based-routing
            when: { models: [rej-chat] }
            load_balance_targets: [{ target: rej1/m, priority: 0 }, { target: rej2/m, priority: 1 }]
          - id: breaker
            type: priority-based-routing
            when: { models: [cb-chat] }
            load_balance_targets:
              - { target: cb1/m, priority: 0, retry_config: { attempts: 0 } }
              - { target: cb2/m, priority: 1 }
          - id: network
            type: priority-based-routing
            when: { models: [net-chat] }
            load_balance_targets:
              - { target: netdown/m, priority: 0, retry_config: { attempts: 0 } }
              - { target: netreset/m, priority: 1, retry_config: { attempts: 0 }, headers_override: { set: { x-mock-reset: "true" } } }
              - { target: netslow/m, priority: 2, timeout: { total: 300ms }, headers_override: { set: { x-mock-latency-ms: "5000" } } }
              - { target: netok/m, priority: 3 }
          - id: retry-then-succeed
            type: priority-based-routing
            when: { models: [retry-chat] }
            load_balance_targets: [{ target: retry1/m, retry_config: { attempts: 2, delay: 10 } }]
          - id: midstream-reset
            type: priority-based-routing
            when: { models: [ms-reset] }
            load_balance_targets:
              - { target: msreset/m, headers_override: { set: { x-mock-stream-fault: reset, x-mock-stream-fault-after: "3" } } }
              - { target: msok/m, priority: 1 }
          - id: midstream-truncate
            type: priority-based-routing
            when: { models: [ms-truncate] }
            load_balance_targets:
              - { target: mstrunc/m, headers_override: { set: { x-mock-stream-fault: truncate, x-mock-stream-fault-after: "3" } } }
              - { target: msok/m, priority: 1 }
          - id: midstream-stall
            type: priority-based-routing
            when: { models: [ms-stall] }
            load_balance_targets:
              - { target: msstall/m, timeout: { stream_idle: 300ms }, headers_override: { set: { x-mock-stream-fault: stall, x-mock-stream-fault-after: "3" } } }
          - id: midstream-malformed
            type: priority-based-routing
            when: { models: [ms-malformed] }
            load_balance_targets:
              - { target: msbad/m, headers_override: { set: { x-mock-stream-fault: malformed, x-mock-stream-fault-after: "2" } } }
          - id: weighted
            type: weight-based-routing
            when: { models: [w-chat] }
            load_balance_targets: [{ target: w1/m, weight: 70 }, { target: w2/m, weight: 20 }, { target: w3/m, weight: 10 }]
          - id: latency
            type: latency-based-routing
            when: { models: [lat-chat] }
            load_balance_targets: [{ target: latslow/m }, { target: latfast/m }]
          - id: sticky
            type: weight-based-routing
            when: { models: [sticky-chat] }
            sticky_routing: { ttl_seconds: 600, session_identifiers: [{ source: headers, key: x-session-id }] }
            load_balance_targets: [{ target: st1/m, weight: 1 }, { target: st2/m, weight: 1 }]
          - id: cached
            type: priority-based-routing
            when: { models: [cached-chat] }
            cache: { ttl_seconds: 600 }
            load_balance_targets:
              - { target: cache1/m, priority: 0, retry_config: { attempts: 0 } }
              - { target: cache2/m, priority: 1 }
          - id: cached-truncated
            type: priority-based-routing
            when: { models: [cached-truncated] }
            cache: { ttl_seconds: 600 }
            load_balance_targets:
              - { target: cachebad/m, headers_override: { set: { x-mock-stream-fault: truncate, x-mock-stream-fault-after: "3" } } }
          - id: reflection
            type: priority-based-routing
            when: { metadata: { task: self_reflection } }
            default_model: reflection
            load_balance_targets: [{ target: task/m }]
        """;

    /// <summary>The assembly's router fixture (mock upstream, gRPC doubles, ledger).</summary>
    public RouterAppFixture Base { get; private set; } = null!;

    /// <summary>Replica A.</summary>
    public WebApplication RouterA => _a!;

    /// <summary>Replica B.</summary>
    public WebApplication RouterB => _b!;

    /// <summary>Starts Redis and both replicas once, on the mock and doubles of <paramref name="baseFixture"/>.</summary>
    public async Task StartAsync(RouterAppFixture baseFixture)
    {
        await _start.WaitAsync();
        try
        {
            if (_a is not null)
            {
                return;
            }

            Base = baseFixture;
            await _redis.InitializeAsync();
            _directory = TestDirectories.Create("routing");
            var configPath = Path.Combine(_directory, "gateway.yaml");
            var mockV1 = new Uri(baseFixture.MockUrl, "/v1").ToString();
            var closedPort = RouterAppFixture.FreePort();
            var accounts = string.Join("\n", s_accounts.Select(a => $"""
                ---
                type: provider-account
                name: {a.Name}
                provider: openai-compatible
                base_url: {(a.Name == "netdown" ? $"http://127.0.0.1:{closedPort}/v1" : mockV1)}
                api_key: ${"{"}MOCK_API_KEY{"}"}
                headers: {"{"} {a.Headers} {"}"}
                models:
                  - name: m
                    provider_model: gpt-4o-mini
                    price: {"{"} input_per_mtok: 0.15, output_per_mtok: 0.60 {"}"}
                """));
            await File.WriteAllTextAsync(configPath, $"{RouterAppFixture.GatewayYaml(baseFixture.MockUrl, closedPort)}\n{accounts}\n---\n{Rules}\n");
            var settings = new Dictionary<string, string?>
            {
                ["ConnectionStrings:redis"] = _redis.NextDatabase(),
                ["Router:Routing:CircuitFailureThreshold"] = CircuitThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            var grpc = baseFixture.GrpcUrl.ToString().TrimEnd('/');
            _a = RouterAppFixture.BuildRouter(configPath, grpc, settings);
            _b = RouterAppFixture.BuildRouter(configPath, grpc, settings);
            await _a.StartAsync();
            await _b.StartAsync();
        }
        finally
        {
            _start.Release();
        }
    }

    /// <summary>A client of replica A (or B) with the good token.</summary>
    public HttpClient Client(bool replicaB = false, string? token = TestPolicy.GoodToken)
    {
        var client = new HttpClient { BaseAddress = new Uri((replicaB ? _b! : _a!).Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
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
        foreach (var app in new[] { _a, _b })
        {
            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }

        await _redis.DisposeAsync();
        if (_directory is not null)
        {
            TestDirectories.Delete(_directory);
        }
    }
}
