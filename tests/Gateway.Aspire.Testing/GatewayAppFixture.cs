using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Gateway.Aspire.Hosting;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Hosting.Testing;

namespace Gateway.Aspire.Testing;

/// <summary>
/// The whole application — Redis, PostgreSQL, the four services and the mock upstream — started
/// through AppHost's own Program (as Aspire.Hosting.Testing would), on free ports, with a
/// throw-away data directory and a gateway.yaml whose accounts point at the mock upstream:
/// <c>mock/gpt-4o-mini</c> (OpenAI format) and <c>mock-claude/sonnet</c> (Anthropic format).
/// The test project must reference AppHost. Derive and override <see cref="AdditionalDocuments"/>
/// to start the app with more gateway.yaml documents (e.g. rate limits).
/// </summary>
public class GatewayAppFixture : IAsyncLifetime
{
    private readonly StringWriter _log = new();
    private string? _directory;
    private DistributedApplication? _app;

    /// <summary>The started application.</summary>
    public DistributedApplication App => _app ?? throw new InvalidOperationException("The application is not started.");

    /// <summary>The router's base URL, e.g. <c>http://localhost:41234/</c>.</summary>
    public Uri RouterUrl => App.GetEndpoint("router");

    /// <summary>The admin key the router and policy were given.</summary>
    public string AdminKey { get; } = "gw-admin-test-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    /// <summary>The fixture's throw-away directory (gateway.yaml and server data); every local server's command line names it.</summary>
    public string Directory => _directory ?? throw new InvalidOperationException("The application is not started.");

    /// <summary>The gateway.yaml the router was given.</summary>
    public string ConfigPath => Path.Combine(Directory, "gateway.yaml");

    /// <summary>Connection string of the gateway database (for assertions on the ledger).</summary>
    public string GatewayDbConnectionString => App.GetConnectionString("gatewaydb");

    /// <summary>Everything the AppHost and its children wrote, for diagnosing failures.</summary>
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

    /// <summary>Creates a token through the admin API (<c>POST /admin/v1/tokens</c>) and returns its secret.</summary>
    public async Task<string> CreateTokenAsync(string name, CancellationToken cancellationToken = default) =>
        (await CreateTokenWithIdAsync(name, models: null, cancellationToken)).Token;

    /// <summary>
    /// Creates a token through the admin API, optionally restricted to <paramref name="models"/>, and
    /// returns its id (the ledger's token identity) and secret (shown only this once).
    /// </summary>
    public async Task<(string Id, string Token)> CreateTokenWithIdAsync(
        string name, IReadOnlyList<string>? models = null, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { BaseAddress = RouterUrl };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/tokens")
        {
            Content = models is null ? JsonContent.Create(new { name }) : JsonContent.Create(new { name, models }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /admin/v1/tokens answered {(int)response.StatusCode}: {body}");
        }

        using var json = JsonDocument.Parse(body);
        return (json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("token").GetString()!);
    }

    /// <summary>YAML documents appended to the generated gateway.yaml (each after a <c>---</c>). Default: none.</summary>
    protected virtual IEnumerable<string> AdditionalDocuments => [];

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _directory = TestDirectories.Create("app");
        var mockPort = FreePort.Next();
        var configPath = Path.Combine(_directory, "gateway.yaml");
        await File.WriteAllTextAsync(configPath, $"""
            type: provider-account
            name: mock
            provider: openai-compatible
            base_url: http://127.0.0.1:{mockPort}/v1
            api_key: ${"{"}MOCK_API_KEY{"}"}
            models:
              - name: gpt-4o-mini
                types: [chat]
                price: {"{"} input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075 {"}"}
            ---
            type: provider-account
            name: mock-claude
            provider: anthropic
            base_url: http://127.0.0.1:{mockPort}
            api_key: ${"{"}MOCK_API_KEY{"}"}
            models:
              - name: sonnet
                provider_model: claude-sonnet-4-5
                price: {"{"} input_per_mtok: 3.00, output_per_mtok: 15.00, cached_input_per_mtok: 0.30, cache_write_per_mtok: 3.75 {"}"}
            """ + string.Concat(AdditionalDocuments.Select(document => "\n---\n" + document)));

        string[] args =
        [
            // Chosen by the AppHost just before the router starts: a port chosen here would stay
            // unheld for the whole start, and any connection could take it meanwhile.
            "--port", "0",
            "--config", configPath,
            "--mock-upstream-port", mockPort.ToString(),
            "--data-root", Path.Combine(_directory, "data"),
        ];
        var overrides = new Dictionary<string, string?>
        {
            ["GATEWAY_ADMIN_KEY"] = AdminKey,
            // Always our own servers, whatever the machine's environment says.
            ["ConnectionStrings:redis"] = "",
            ["ConnectionStrings:gatewaydb"] = "",
        };

        try
        {
            _app = await DistributedApplicationTestingBuilder.StartAsync(
                Assembly.Load("Gateway.Aspire.AppHost"), args, overrides, TextWriter.Synchronized(_log), CancellationToken.None);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"The application did not start: {ex.Message}{Environment.NewLine}Output:{Environment.NewLine}{Log}", ex);
        }
    }

    /// <inheritdoc />
    public virtual async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        Npgsql.NpgsqlConnection.ClearAllPools();
        if (_directory is not null)
        {
            TestDirectories.Delete(_directory);
        }
    }
}
