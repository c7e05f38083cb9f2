using System.Net;
using System.Net.Sockets;
using Gateway.Aspire.MockUpstream;
using Gateway.Aspire.Router.Apis;
using Gateway.Aspire.Router.Extensions;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gateway.Aspire.Router.Tests.TestHosts;

/// <summary>
/// The router in-process on a loopback port, with the mock upstream as its provider and gRPC test
/// doubles of policy, guardrails and accounting, all over real HTTP and HTTP/2.
/// </summary>
/// <remarks>
/// Accounts of the generated gateway.yaml drive the mock through configured upstream headers:
/// <c>mock</c> (plain), <c>slow</c> (150 ms between chunks), <c>broken</c> (upstream 500),
/// <c>limited</c> (upstream 429), <c>sleepy</c> (2 s latency, 300 ms timeout), <c>down</c> (nothing listens).
/// The mock also speaks the other providers' formats, so these accounts reach it through their
/// adapters: <c>claude/sonnet</c> (anthropic), <c>gemini/flash</c> (gemini), <c>azure/gpt-4o-mini</c>
/// (azure-openai), plus <c>mock/embed</c> (embeddings), <c>mock/instruct</c> (legacy completions) and the
/// pass-through models <c>mock/tts</c>, <c>mock/whisper</c>, <c>mock/image</c>, <c>mock/rerank</c>, <c>mock/moderation</c>.
/// <c>claude-limited</c> and <c>gemini-limited</c> answer 429, <c>claude-broken</c> 529 (overloaded).
/// <c>nousage</c> reports no usage at all (as some OpenAI-compatible servers do), so the router estimates it.
/// <c>claude-cached</c> (1200 cache-read and 300 cache-write tokens) and <c>gemini-cached</c> (500 cached
/// and 40 reasoning tokens) make the mock report those counts on every answer, for billing tests.
/// </remarks>
public sealed class RouterAppFixture : IAsyncLifetime
{
    public const string MockApiKey = "mock-secret";
    public const int MaxBodyBytes = 64 * 1024;

    private WebApplication? _mock;
    private WebApplication? _grpc;
    private WebApplication? _router;
    private string? _directory;

    public TestLedgerService Ledger { get; } = new();

    public Uri RouterUrl { get; private set; } = null!;

    public Uri MockUrl { get; private set; } = null!;

    /// <summary>Where the gRPC doubles listen (HTTP/2).</summary>
    public Uri GrpcUrl { get; private set; } = null!;

    public WebApplication Router => _router!;

    /// <summary>An HttpClient against the router, with <paramref name="token"/> as bearer when given.</summary>
    public HttpClient CreateClient(string? token = TestPolicy.GoodToken)
    {
        var client = new HttpClient { BaseAddress = RouterUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        }

        return client;
    }

    public async ValueTask InitializeAsync()
    {
        _mock = MockUpstreamApp.Create(["--urls=http://127.0.0.1:0", $"--MOCK_API_KEY={MockApiKey}"]);
        await _mock.StartAsync();
        MockUrl = new Uri(_mock.Urls.First());

        var grpcBuilder = WebApplication.CreateSlimBuilder();
        grpcBuilder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        grpcBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
        grpcBuilder.Services.AddGrpc();
        grpcBuilder.Services.AddSingleton(Ledger);
        _grpc = grpcBuilder.Build();
        _grpc.MapGrpcService<TestPolicy.AdmissionService>();
        _grpc.MapGrpcService<TestPolicy.TokensService>();
        _grpc.MapGrpcService<TestGuardrailsService>();
        _grpc.MapGrpcService<TestLedgerService>();
        _grpc.MapGrpcService<TestAnalyticsService>();
        await _grpc.StartAsync();
        var grpcUrl = _grpc.Urls.First();
        GrpcUrl = new Uri(grpcUrl);

        _directory = Testing.TestDirectories.Create("router");
        var configPath = Path.Combine(_directory, "gateway.yaml");
        await File.WriteAllTextAsync(configPath, GatewayYaml(MockUrl, FreePort()));

        _router = BuildRouter(configPath, grpcUrl);
        await _router.StartAsync();
        RouterUrl = new Uri(_router.Urls.First());
    }

    /// <summary>The same composition as the router's Program.cs, with test configuration (and <paramref name="extra"/> settings).</summary>
    internal static WebApplication BuildRouter(string configPath, string grpcUrl, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GATEWAY_CONFIG"] = configPath,
            ["MOCK_API_KEY"] = MockApiKey,
            ["services:policy:grpc:0"] = grpcUrl,
            ["services:guardrails:grpc:0"] = grpcUrl,
            ["services:accounting:grpc:0"] = grpcUrl,
            ["Router:MaxRequestBodyBytes"] = MaxBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GATEWAY_ADMIN_KEY"] = TestPolicy.AdminKey,
            // The generated gateway.yaml has no guardrails rules; the double's block word still gets checked.
            ["Router:CheckInputGuardrails"] = "true",
        });
        if (extra is not null)
        {
            builder.Configuration.AddInMemoryCollection(extra);
        }

        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapOpenAiApi();
        app.MapAdminApi();
        return app;
    }

    /// <summary>The generated gateway.yaml's provider accounts (see the class remarks).</summary>
    internal static string GatewayYaml(Uri mock, int closedPort)
    {
        var baseUrl = new Uri(mock, "/v1").ToString();
        string Account(string name, string headers = "", string timeout = "") => $"""
            ---
            type: provider-account
            name: {name}
            provider: openai-compatible
            base_url: {baseUrl}
            api_key: ${"{"}MOCK_API_KEY{"}"}
            {headers}
            models:
              - name: gpt-4o-mini
                types: [chat]
                price: {"{"} input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075 {"}"}
                {timeout}
              - name: gpt-4o
                provider_model: gpt-4o
              - name: embed
                provider_model: text-embedding-3-small
                types: [embedding]
                price: {"{"} input_per_mtok: 0.02 {"}"}
              - name: instruct
                provider_model: gpt-3.5-turbo-instruct
                types: [completion]
                price: {"{"} input_per_mtok: 1.50, output_per_mtok: 2.00 {"}"}
              - name: tts
                provider_model: gpt-4o-mini-tts
                types: [audio]
              - name: whisper
                provider_model: whisper-1
                types: [audio]
              - name: image
                provider_model: gpt-image-1
                types: [image]
              - name: rerank
                provider_model: bge-reranker-v2-m3
                types: [rerank]
              - name: moderation
                provider_model: omni-moderation-latest
                types: [moderation]
            """;
        var root = mock.GetLeftPart(UriPartial.Authority);
        string Provider(string name, string provider, string models, string headers = "") => $"""
            ---
            type: provider-account
            name: {name}
            provider: {provider}
            base_url: {root}
            api_key: ${"{"}MOCK_API_KEY{"}"}
            {headers}
            models:
            {models}
            """;
        const string Claude = """
              - name: sonnet
                provider_model: claude-sonnet-4-5
                default_max_tokens: 1024
                max_tokens: 64000
                price: { input_per_mtok: 3.00, output_per_mtok: 15.00, cached_input_per_mtok: 0.30, cache_write_per_mtok: 3.75 }
            """;
        const string Gemini = """
              - name: flash
                provider_model: gemini-2.5-flash
                price: { input_per_mtok: 0.30, output_per_mtok: 2.50, cached_input_per_mtok: 0.075 }
            """;
        return string.Join("\n",
            Account("mock"),
            Account("slow", "headers: { x-mock-chunk-delay-ms: \"150\" }"),
            Account("nousage", "headers: { x-mock-no-usage: \"true\" }"),
            Account("broken", "headers: { x-mock-status: \"500\" }"),
            Account("limited", "headers: { x-mock-status: \"429\" }"),
            Account("sleepy", "headers: { x-mock-latency-ms: \"2000\" }", "timeout: 300ms"),
            Account("down").Replace(baseUrl, $"http://127.0.0.1:{closedPort}/v1", StringComparison.Ordinal),
            Provider("claude", "anthropic", Claude),
            Provider("claude-limited", "anthropic", Claude, "headers: { x-mock-status: \"429\" }"),
            Provider("claude-broken", "anthropic", Claude, "headers: { x-mock-status: \"529\" }"),
            Provider("gemini", "gemini", Gemini),
            Provider("gemini-limited", "gemini", Gemini, "headers: { x-mock-status: \"429\" }"),
            Provider("azure", "azure-openai", """
                  - name: gpt-4o-mini
                    provider_model: my-deployment
                    price: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
                """),
            Provider("claude-cached", "anthropic", Claude, "headers: { x-mock-cached-tokens: \"1200\", x-mock-cache-write-tokens: \"300\" }"),
            Provider("gemini-cached", "gemini", Gemini, "headers: { x-mock-cached-tokens: \"500\", x-mock-reasoning-tokens: \"40\" }"));
    }

    /// <summary>A loopback port nothing listens on (bound, read, released).</summary>
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in new[] { _router, _grpc, _mock })
        {
            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }

        if (_directory is not null)
        {
            Testing.TestDirectories.Delete(_directory);
        }
    }
}
