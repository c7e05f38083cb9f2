extern alias GuardrailsApp;

using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.Testing;
using GuardrailsApp::Gateway.Aspire.Guardrails.Checks;
using Microsoft.AspNetCore.Hosting.Server;
using GuardrailsServiceComposition = GuardrailsApp::Gateway.Aspire.Guardrails.Extensions.ApplicationServiceExtensions;

namespace Gateway.Aspire.Router.Tests.Forwarding;

/// <summary>
/// A router in front of the REAL guardrails service (in-process, over gRPC), both reading one
/// gateway.yaml with the <see cref="Rules"/>, on the assembly's mock upstream and policy/ledger
/// doubles. Accounts <c>echo</c> and <c>echo3</c> make the mock answer with the last user message
/// verbatim (what the provider received), in one piece or streamed three characters at a time
/// (<c>echoslow</c>: every 150 ms).
/// </summary>
public class GuardrailsAppFixture : IAsyncDisposable
{
    /// <summary>The rules under test; each selected by <c>x-gateway-metadata</c> <c>guard</c>.</summary>
    public const string Rules = """
        type: gateway-guardrails-config
        name: router-tests
        rules:
          - id: mask-only
            when: { metadata: { guard: mask-only } }
            input:
              - { check: pii, action: mask }
          - id: pii
            when: { metadata: { guard: restore } }
            input:
              - { check: pii, action: mask }
            output:
              - { check: pii, action: mask, restore: true }
          - id: safety
            when: { metadata: { guard: topics } }
            input:
              - { check: deny_list, action: block, name: no_financial_advice, patterns: ["(?i)\\bbuy\\b.*\\bstock"] }
            output:
              - { check: deny_list, action: block, name: codenames, keywords: [Project Falcon] }
          - id: output-pii
            when: { metadata: { guard: output-mask } }
            output:
              - { check: pii, action: mask }
          - id: external
            when: { metadata: { guard: external } }
            input:
              - { check: moderation, action: block, categories: [violence], model: mod/omni }
          - id: external-broken
            when: { metadata: { guard: external-broken } }
            input:
              - { check: moderation, action: block, categories: [violence], model: modbroken/omni }
          - id: external-slow
            when: { metadata: { guard: external-slow } }
            input:
              - { check: moderation, action: block, categories: [violence], model: modslow/omni, timeout_ms: 200 }
          - id: flags
            when: { metadata: { guard: flag } }
            input:
              - { check: prompt_injection, action: flag }
            output:
              - { check: deny_list, action: flag, name: codenames, keywords: [Project Falcon] }
        """;

    /// <summary>The gateway-guardrails-config document both services read. Default: <see cref="Rules"/>.</summary>
    protected virtual string RulesDocument => Rules;

    /// <summary>Whether the guardrails service runs; when false the router's guardrails address is a closed port. Default: true.</summary>
    protected virtual bool GuardrailsRunning => true;

    private readonly SemaphoreSlim _start = new(1, 1);
    private GrpcServiceTestHost? _guardrails;
    private WebApplication? _router;
    private string? _directory;

    /// <summary>The guarded router's address.</summary>
    public Uri RouterUrl { get; private set; } = null!;

    /// <summary>Starts the guardrails service and the router once, on the doubles of <paramref name="baseFixture"/>.</summary>
    public async Task StartAsync(RouterAppFixture baseFixture)
    {
        await _start.WaitAsync();
        try
        {
            if (_router is not null)
            {
                return;
            }

            _directory = TestDirectories.Create("guardrails");
            var configPath = Path.Combine(_directory, "gateway.yaml");
            var mockV1 = new Uri(baseFixture.MockUrl, "/v1").ToString();
            // echoslow streams three characters every 150 ms, so a test can act while the stream runs.
            var accounts = string.Join("\n", new[] { ("echo", "x-mock-echo: \"1000\""), ("echo3", "x-mock-echo: \"3\""), ("echoslow", "x-mock-echo: \"3\", x-mock-chunk-delay-ms: \"150\"") }.Select(a => $"""
                ---
                type: provider-account
                name: {a.Item1}
                provider: openai-compatible
                base_url: {mockV1}
                api_key: ${"{"}MOCK_API_KEY{"}"}
                headers: {"{"} {a.Item2} {"}"}
                models:
                  - name: m
                    provider_model: gpt-4o-mini
                    types: [chat, completion]
                    price: {"{"} input_per_mtok: 0.15, output_per_mtok: 0.60 {"}"}
                """));
            // Moderation models on the mock, which flags violence exactly when a text says "attack":
            // healthy, answering 500, and answering after 2 s.
            accounts += "\n" + string.Join("\n", new[] { ("mod", ""), ("modbroken", "x-mock-status: \"500\""), ("modslow", "x-mock-latency-ms: \"2000\"") }.Select(a => $"""
                ---
                type: provider-account
                name: {a.Item1}
                provider: openai-compatible
                base_url: {mockV1}
                api_key: ${"{"}MOCK_API_KEY{"}"}
                headers: {"{"} {a.Item2} {"}"}
                models:
                  - name: omni
                    provider_model: omni-moderation-latest
                    types: [moderation]
                """));
            await File.WriteAllTextAsync(configPath, $"{RouterAppFixture.GatewayYaml(baseFixture.MockUrl, RouterAppFixture.FreePort())}\n{accounts}\n---\n{RulesDocument}\n");

            if (GuardrailsRunning)
            {
                _guardrails = await GrpcServiceTestHost.StartAsync(
                    typeof(GuardrailsService).Assembly,
                    new Dictionary<string, string?> { ["GATEWAY_CONFIG"] = configPath },
                    builder => GuardrailsServiceComposition.AddApplicationServices(builder),
                    app => app.MapGrpcService<GuardrailsService>());
            }

            _router = RouterAppFixture.BuildRouter(configPath, baseFixture.GrpcUrl.ToString().TrimEnd('/'), new Dictionary<string, string?>
            {
                ["services:guardrails:grpc:0"] = _guardrails?.GrpcUrl ?? $"http://127.0.0.1:{RouterAppFixture.FreePort()}",
            });
            await _router.StartAsync();
            RouterUrl = new Uri(_router.Urls.First());
        }
        finally
        {
            _start.Release();
        }
    }

    /// <summary>
    /// Stops the guardrails service abruptly, as a crash would: listeners close and the connections of
    /// calls in flight (a stream's CheckStream) are cut instead of drained.
    /// </summary>
    public async Task KillGuardrailsAsync() =>
        await _guardrails!.Services.GetRequiredService<IServer>().StopAsync(new CancellationToken(canceled: true));

    /// <summary>A client of the guarded router with the good token.</summary>
    public HttpClient Client()
    {
        var client = new HttpClient { BaseAddress = RouterUrl, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", TestPolicy.GoodToken);
        return client;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_router is not null)
        {
            await _router.StopAsync();
            await _router.DisposeAsync();
        }

        if (_guardrails is not null)
        {
            await _guardrails.DisposeAsync();
        }

        if (_directory is not null)
        {
            TestDirectories.Delete(_directory);
        }
    }
}
