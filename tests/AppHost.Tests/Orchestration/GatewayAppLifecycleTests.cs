using Gateway.Aspire.Hosting.ApplicationModel;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Testing;

namespace Gateway.Aspire.AppHost.Tests.Orchestration;

/// <summary>
/// The whole gateway started through AppHost's own Program by the testing builder: every child is
/// wired by Aspire's conventions, starts after what it waits for, and is gone after dispose.
/// </summary>
public sealed class GatewayAppLifecycleTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Starts_wired_in_dependency_order_and_dispose_leaves_no_process_or_listener()
    {
        var fixture = new GatewayAppFixture();
        var disposed = false;
        try
        {
            await fixture.InitializeAsync();
            var app = fixture.App;
            var directory = fixture.Directory;

            // redis, postgres, policy, accounting, guardrails, mock upstream, router
            var children = app.ChildProcessIds;
            Assert.Equal(7, children.Count);
            Assert.All(children, pid => Assert.True(ProcessEnvironment.IsAlive(pid)));
            using (var http = new HttpClient())
            {
                Assert.True((await http.GetAsync(new Uri(fixture.RouterUrl, "/health"), Cancellation)).IsSuccessStatusCode);
            }

            AssertWiring(fixture);
            AssertStartOrder(app.ResourceEvents);

            var ports = new[] { "router", "policy", "accounting", "guardrails", "mock-upstream" }
                .SelectMany(name => app.Resources.OfType<ProjectResource>().Single(p => p.Name == name).Endpoints)
                .Select(e => e.AllocatedPort).ToList();
            var redisPort = new Uri("tcp://" + app.GetConnectionString("redis")).Port;
            Assert.NotEmpty(AppHostProcess.ProcessesMentioning(directory)); // postgres -D <dir>, redis --dir <dir>

            await fixture.DisposeAsync();
            disposed = true;

            Assert.All(children, pid => Assert.False(ProcessEnvironment.IsAlive(pid), $"process {pid} is still running"));
            Assert.Empty(AppHostProcess.ProcessesMentioning(directory));
            foreach (var port in ports.Append(redisPort))
            {
                Assert.False(await FreePort.IsListeningAsync(port, Cancellation), $"port {port} still listens");
            }
        }
        finally
        {
            if (!disposed)
            {
                await fixture.DisposeAsync();
            }
        }
    }

    private static void AssertWiring(GatewayAppFixture fixture)
    {
        var app = fixture.App;
        string Url(string resource, string endpoint) => app.GetEndpoint(resource, endpoint).GetLeftPart(UriPartial.Authority);
        IReadOnlyDictionary<string, string> Env(string resource) => ProcessEnvironment.Read(app.GetProcessId(resource)!.Value);

        var router = Env("router");
        Assert.Equal(fixture.RouterUrl.GetLeftPart(UriPartial.Authority), router["ASPNETCORE_URLS"]);
        Assert.StartsWith("http://localhost:", router["ASPNETCORE_URLS"], StringComparison.Ordinal);
        foreach (var service in new[] { "policy", "accounting", "guardrails" })
        {
            Assert.Equal(Url(service, "http"), router[$"services__{service}__http__0"]);
            Assert.Equal(Url(service, "grpc"), router[$"services__{service}__grpc__0"]);
        }

        Assert.Equal(fixture.ConfigPath, router["GATEWAY_CONFIG"]);
        Assert.Equal(fixture.AdminKey, router["GATEWAY_ADMIN_KEY"]);
        Assert.Equal(app.GetConnectionString("redis"), router["ConnectionStrings__redis"]); // the response cache
        Assert.Equal("router", router["OTEL_SERVICE_NAME"]);
        Assert.Equal("Development", router["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal(Env("mock-upstream")["MOCK_API_KEY"], router["MOCK_API_KEY"]);

        var policy = Env("policy");
        Assert.Equal(app.GetConnectionString("redis"), policy["ConnectionStrings__redis"]);
        Assert.Equal(app.GetConnectionString("gatewaydb"), policy["ConnectionStrings__gatewaydb"]);
        Assert.Equal(fixture.GatewayDbConnectionString, policy["ConnectionStrings__gatewaydb"]);
        Assert.Equal(fixture.AdminKey, policy["GATEWAY_ADMIN_KEY"]);
        Assert.Equal("Http2", policy["Kestrel__Endpoints__grpc__Protocols"]);
        Assert.Equal(Url("policy", "grpc"), policy["Kestrel__Endpoints__grpc__Url"]);
        Assert.False(policy.ContainsKey("MOCK_API_KEY"));

        var accounting = Env("accounting");
        Assert.Equal(fixture.GatewayDbConnectionString, accounting["ConnectionStrings__gatewaydb"]);
        Assert.False(accounting.ContainsKey("GATEWAY_ADMIN_KEY")); // a secret goes only where it is needed
    }

    private static void AssertStartOrder(IReadOnlyList<ResourceEvent> events)
    {
        int At(string resource, ResourceState state) =>
            events.Select((e, i) => (e, i)).Single(x => x.e.Resource == resource && x.e.State == state).i;

        foreach (var (dependent, dependencies) in new[]
        {
            ("gatewaydb", new[] { "postgres" }),
            ("policy", new[] { "redis", "gatewaydb" }),
            ("accounting", new[] { "redis", "gatewaydb" }),
            ("router", new[] { "policy", "accounting", "guardrails", "mock-upstream" }),
        })
        {
            foreach (var dependency in dependencies)
            {
                Assert.True(
                    At(dependent, ResourceState.Starting) > At(dependency, ResourceState.Running),
                    $"{dependent} started before {dependency} was running: {string.Join(", ", events)}");
            }
        }
    }
}
