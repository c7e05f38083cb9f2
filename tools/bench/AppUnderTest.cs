using System.Net.Http.Json;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Gateway.Aspire.Hosting;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Hosting.Testing;

namespace Gateway.Aspire.Bench;

/// <summary>
/// The whole application started through AppHost's own Program (as the tests' GatewayAppFixture
/// does) on free ports, with a throw-away data directory and a gateway.yaml whose mock accounts fix
/// the upstream's behaviour through provider-account headers (the router does not forward client headers).
/// </summary>
internal sealed class AppUnderTest : IAsyncDisposable
{
    /// <summary>Output tokens of every answer (one stream chunk each).</summary>
    public const int OutputTokens = 100;

    /// <summary>Upstream delay between stream chunks in the paced streaming case (Task.Delay: the timer makes it a few ms).</summary>
    public const int StreamChunkDelayMs = 1;

    private readonly StringWriter _log = new();
    private readonly string _directory;
    private DistributedApplication? _app;

    private AppUnderTest(string directory, bool piiGuardrails)
    {
        _directory = directory;
        PiiGuardrails = piiGuardrails;
    }

    /// <summary>Name of the bench token's virtual account; the rate-limit, budget and guardrails rules apply to it.</summary>
    public const string VirtualAccount = "bench";

    /// <summary>Id of the bench's token rate-limit rule (large enough never to refuse: the cost of counting is measured).</summary>
    public const string RateLimitRule = "bench-tokens";

    /// <summary>Id of the bench's hard daily budget (large enough never to refuse).</summary>
    public const string BudgetRule = "bench-daily";

    /// <summary>Whether gateway.yaml has a guardrails rule masking PII on input (then the router calls guardrails on every request).</summary>
    public bool PiiGuardrails { get; }

    public string AdminKey { get; } = "gw-admin-bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public string MockKey { get; } = "mock-bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public int MockPort { get; } = FreePort.Next();

    public int RouterPort { get; } = FreePort.Next();

    /// <summary>A gateway token created through the admin API.</summary>
    public string Token { get; private set; } = "";

    public string Directory => _directory;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Upstream (mock) URL of chat completions.</summary>
    public string DirectUrl => $"http://127.0.0.1:{MockPort}/v1/chat/completions";

    /// <summary>Gateway URL of chat completions (127.0.0.1: the router listens on localhost, both families).</summary>
    public string GatewayUrl => $"http://127.0.0.1:{RouterPort}/v1/chat/completions";

    /// <summary>Starts the application; with <paramref name="piiGuardrails"/> gateway.yaml also masks PII on input.</summary>
    public static async Task<AppUnderTest> StartAsync(bool piiGuardrails = false)
    {
        var directory = Path.Combine(Path.GetTempPath(), "gateway-aspire-bench", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var app = new AppUnderTest(directory, piiGuardrails);
        try
        {
            await app.StartCoreAsync();
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The account behind a scenario: <c>mock0</c> and <c>mock50</c> (upstream latency), <c>stream1</c>
    /// (paced chunks). Each asks the mock for <see cref="OutputTokens"/> output tokens.
    /// </summary>
    public static string Account(int latencyMs, int chunkDelayMs) => chunkDelayMs > 0 ? "stream1" : $"mock{latencyMs}";

    /// <summary>The headers the direct path sends so the mock behaves as it does behind that account.</summary>
    public IReadOnlyList<(string Name, string Value)> DirectHeaders(int latencyMs, int chunkDelayMs)
    {
        var headers = new List<(string, string)>
        {
            ("Authorization", "Bearer " + MockKey),
            ("x-mock-latency-ms", latencyMs.ToString()),
            ("x-mock-output-tokens", OutputTokens.ToString()),
        };
        if (chunkDelayMs > 0)
        {
            headers.Add(("x-mock-chunk-delay-ms", chunkDelayMs.ToString()));
        }

        return headers;
    }

    public IReadOnlyList<(string Name, string Value)> GatewayHeaders => [("Authorization", "Bearer " + Token)];

    private async Task StartCoreAsync()
    {
        var configPath = Path.Combine(_directory, "gateway.yaml");
        await File.WriteAllTextAsync(configPath, $"""
            # Written by tools/bench: three accounts on the same mock upstream, differing only in the
            # behaviour their headers ask of it.
            {Account("mock0", 0, null)}
            ---
            {Account("mock50", 50, null)}
            ---
            {Account("stream1", 0, StreamChunkDelayMs)}
            ---
            # Issue 8 measures auth + limits + budget + accounting: one token limit and one hard budget
            # apply to the bench's virtual account, both far above what the run can use, so every
            # request is counted, reserved and settled but none is refused.
            type: gateway-rate-limiting-config
            name: bench-limits
            rules:
              - id: {RateLimitRule}
                when: {"{"} subjects: ["virtualaccount:{VirtualAccount}"] {"}"}
                limit_to: 1000000000000
                unit: tokens_per_minute
            ---
            type: gateway-budget-config
            name: bench-budgets
            rules:
              - id: {BudgetRule}
                when: {"{"} subjects: ["virtualaccount:{VirtualAccount}"] {"}"}
                limit_to: 1000000
                unit: cost_per_day
                mode: hard
            {(PiiGuardrails ? PiiGuardrailsDocument : "")}
            """);

        string[] args =
        [
            "--port", RouterPort.ToString(),
            "--config", configPath,
            "--mock-upstream-port", MockPort.ToString(),
            "--data-root", Path.Combine(_directory, "data"),
        ];
        var overrides = new Dictionary<string, string?>
        {
            ["GATEWAY_ADMIN_KEY"] = AdminKey,
            ["MOCK_API_KEY"] = MockKey,
            // Our own Redis and PostgreSQL, whatever the environment says.
            ["ConnectionStrings:redis"] = "",
            ["ConnectionStrings:gatewaydb"] = "",
            // Measure what production runs, not the Development defaults of a local start.
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };

        try
        {
            _app = await DistributedApplicationTestingBuilder.StartAsync(
                Assembly.Load("Gateway.Aspire.AppHost"), args, overrides, TextWriter.Synchronized(_log), CancellationToken.None);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"The application did not start: {ex.Message}{Environment.NewLine}{Log}", ex);
        }

        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{RouterPort}/admin/v1/tokens")
        {
            Content = JsonContent.Create(new Dictionary<string, string> { ["name"] = VirtualAccount }),
        };
        request.Headers.Authorization = new("Bearer", AdminKey);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Creating the bench token failed: {(int)response.StatusCode} {text}");
        }

        Token = JsonDocument.Parse(text).RootElement.GetProperty("token").GetString()!;
    }

    // Masks PII on the way in for the bench's calls (the PII cases); nothing on output, so only input checking is measured.
    private const string PiiGuardrailsDocument = $$"""
        ---
        type: gateway-guardrails-config
        name: bench-guardrails
        rules:
          - id: bench-pii
            when: { subjects: ["virtualaccount:{{VirtualAccount}}"] }
            input: [{ check: pii, action: mask }]
        """;

    private string Account(string name, int latencyMs, int? chunkDelayMs) => $"""
        type: provider-account
        name: {name}
        provider: openai-compatible
        base_url: http://127.0.0.1:{MockPort}/v1
        api_key: ${"{"}MOCK_API_KEY{"}"}
        headers:
          x-mock-latency-ms: "{latencyMs}"
          x-mock-output-tokens: "{OutputTokens}"{(chunkDelayMs is { } d ? $"\n  x-mock-chunk-delay-ms: \"{d}\"" : "")}
        models:
          - name: gpt-4o-mini
            types: [chat]
            price: {"{"} input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075 {"}"}
        """;

    /// <summary>Rows in the accounting ledger: shows accounting was on for every gateway request.</summary>
    public async Task<long> LedgerRowsAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(App.GetConnectionString("gatewaydb"));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("select count(*) from accounting.ledger", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        Npgsql.NpgsqlConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
