using Gateway.Aspire.Hosting;
using Gateway.Aspire.Hosting.ApplicationModel;
using Gateway.Aspire.Hosting.Testing;
using Gateway.Aspire.Testing;

namespace Gateway.Aspire.AppHost.Tests.Model;

/// <summary>
/// The gateway's resource model as AppHost's own Program declares it, inspected without starting
/// anything: which resources exist, what each waits for and references, and the settings the
/// router gets from the command line and the environment.
/// </summary>
public sealed class GatewayModelTests : IDisposable
{
    private readonly string _directory = TestDirectories.Create("model");
    private readonly StringWriter _output = new();

    [Fact]
    public async Task Declares_the_gateway_with_Aspire_references_and_waits()
    {
        var app = await BuildAsync(WriteConfig("http://127.0.0.1:9100/v1"), []);

        Assert.Equal(
            ["redis", "postgres", "gatewaydb", "gateway-admin-key", "policy", "accounting", "guardrails", "router", "mock-api-key", "mock-upstream"],
            app.Resources.Select(r => r.Name));

        var policy = Project(app, "policy");
        Assert.Equal(["redis", "gatewaydb"], policy.References.Select(r => r.Name));
        Assert.Equal(["redis", "gatewaydb"], policy.WaitsFor.Select(r => r.Name));
        Assert.Equal(["http", "grpc"], policy.Endpoints.Select(e => e.Name));
        Assert.Equal("Http2", policy.Endpoints[1].Protocols);

        Assert.Equal(["redis", "gatewaydb"], Project(app, "accounting").References.Select(r => r.Name));
        var guardrails = Project(app, "guardrails");
        Assert.Equal(["http", "grpc"], guardrails.Endpoints.Select(e => e.Name));
        Assert.Equal(["redis"], guardrails.References.Select(r => r.Name)); // live configuration
        Assert.Equal(["redis"], guardrails.WaitsFor.Select(r => r.Name));

        var router = Project(app, "router");
        Assert.True(router.IsExternal);
        Assert.Equal(["redis", "policy", "accounting", "guardrails"], router.References.Select(r => r.Name));
        Assert.Equal(["redis", "policy", "accounting", "guardrails", "mock-upstream"], router.WaitsFor.Select(r => r.Name));
        var http = Assert.Single(router.Endpoints);
        Assert.Equal("localhost", http.Host);
        Assert.Equal(8080, http.Port);
    }

    [Fact]
    public async Task Starts_the_mock_upstream_only_when_gateway_yaml_points_at_its_port()
    {
        var onLocalhost = await BuildAsync(WriteConfig("http://localhost:9311/v1"), ["--mock-upstream-port", "9311"]);
        var mock = Project(onLocalhost, "mock-upstream");
        Assert.Equal(9311, mock.Endpoints.Single().Port);
        Assert.Equal(Environment(mock, "MOCK_API_KEY"), Environment(Project(onLocalhost, "router"), "MOCK_API_KEY"));
        Assert.StartsWith("mock-", Environment(mock, "MOCK_API_KEY"), StringComparison.Ordinal);

        var otherPort = await BuildAsync(WriteConfig("http://127.0.0.1:9312/v1"), ["--mock-upstream-port", "9311"]);
        Assert.DoesNotContain(otherPort.Resources, r => r.Name == "mock-upstream");
        Assert.False(Project(otherPort, "router").Environment.ContainsKey("MOCK_API_KEY"));

        var realProvider = await BuildAsync(WriteConfig("https://api.openai.com/v1"), []);
        Assert.DoesNotContain(realProvider.Resources, r => r.Name == "mock-upstream");
    }

    [Fact]
    public async Task Router_gets_the_port_an_absolute_config_path_and_the_configured_admin_key()
    {
        var config = WriteConfig("https://api.openai.com/v1");
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), config);

        var app = await BuildAsync(relative, ["--port", "18123"], new() { ["GATEWAY_ADMIN_KEY"] = "gw-admin-configured" });

        var router = Project(app, "router");
        Assert.Equal(18123, router.Endpoints.Single().Port);
        Assert.Equal(config, Environment(router, "GATEWAY_CONFIG"));
        Assert.Equal(config, Environment(Project(app, "guardrails"), "GATEWAY_CONFIG"));
        Assert.Equal("gw-admin-configured", Environment(router, "GATEWAY_ADMIN_KEY"));
        Assert.Equal("gw-admin-configured", Environment(Project(app, "policy"), "GATEWAY_ADMIN_KEY"));
        Assert.DoesNotContain("gw-admin-configured", _output.ToString(), StringComparison.Ordinal); // never printed
    }

    [Fact]
    public async Task Generates_an_admin_key_when_none_is_set_and_prints_it_once()
    {
        var app = await BuildAsync(WriteConfig("https://api.openai.com/v1"), [], new() { ["GATEWAY_ADMIN_KEY"] = "" });

        var key = Environment(Project(app, "router"), "GATEWAY_ADMIN_KEY");
        Assert.Matches("^gw-admin-[A-Za-z0-9_-]{40,}$", key);
        Assert.Equal(key, Environment(Project(app, "policy"), "GATEWAY_ADMIN_KEY"));
        var printed = _output.ToString();
        Assert.Equal(printed.IndexOf(key, StringComparison.Ordinal), printed.LastIndexOf(key, StringComparison.Ordinal));
        Assert.Contains("Admin key for this run: " + key, printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_that_is_not_a_port_number_is_rejected_with_the_setting_named()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => BuildAsync(WriteConfig("https://api.openai.com/v1"), ["--port", "eighty"]));

        Assert.Contains("'eighty' (--port or GATEWAY_PORT)", error.Message, StringComparison.Ordinal);

        error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => BuildAsync(WriteConfig("https://api.openai.com/v1"), ["--mock-upstream-port", "70000"]));
        Assert.Contains("'70000' (--mock-upstream-port)", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => TestDirectories.Delete(_directory);

    private Task<DistributedApplication> BuildAsync(string config, string[] args, Dictionary<string, string?>? configuration = null)
    {
        var overrides = new Dictionary<string, string?> { ["GATEWAY_PORT"] = null, ["MOCK_API_KEY"] = null };
        foreach (var (name, value) in configuration ?? [])
        {
            overrides[name] = value;
        }

        return DistributedApplicationTestingBuilder.BuildAsync(
            typeof(Projects.Router).Assembly, [.. args, "--config", config, "--data-root", _directory], overrides, _output);
    }

    private string WriteConfig(string baseUrl)
    {
        var path = Path.Combine(_directory, $"gateway-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $"""
            type: provider-account
            name: upstream
            provider: openai-compatible
            base_url: {baseUrl}
            models:
              - name: gpt-4o-mini
            """);
        return path;
    }

    private static ProjectResource Project(DistributedApplication app, string name) =>
        app.Resources.OfType<ProjectResource>().Single(r => r.Name == name);

    private static string Environment(ProjectResource project, string name) => project.Environment[name].Resolve();
}
