using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gateway.Aspire.Hosting;
using Gateway.Aspire.Hosting.ApplicationModel;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Hosting.Testing;
using Gateway.Aspire.Testing;

namespace Gateway.Aspire.AppHost.Tests.Orchestration;

/// <summary>
/// The orchestrator on small models declared by the test: what a project is given
/// (<c>WithReference</c>, <c>WithEnvironment</c>, endpoints), the order <c>WaitFor</c> imposes, and
/// the errors a user sees. The mock upstream stands in for any project: it is small and has /health.
/// Redis and the database are external (configured connection strings), so no server starts.
/// </summary>
public sealed class ResourceWiringTests : IDisposable
{
    private const string RedisConnection = "127.0.0.1:6999";
    private const string DatabaseConnection = "Host=127.0.0.1;Port=1;Database=orders";

    private readonly string _directory = TestDirectories.Create("wiring");
    private readonly StringWriter _output = new();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WithReference_gives_Aspire_environment_and_WaitFor_orders_the_start()
    {
        var builder = CreateBuilder();
        var redis = builder.AddRedis("redis");
        var database = builder.AddPostgres("pg").AddDatabase("orders");
        var backend = builder.AddProject<Projects.MockUpstream>("backend").WithGrpcEndpoint();
        builder.AddProject<Projects.MockUpstream>("front")
            .WithReference(backend).WithReference(redis).WithReference(database)
            .WaitFor(backend)
            .WithEnvironment("FEATURE_FLAG", "on");

        await using var app = builder.Build();
        await app.StartAsync(Cancellation);

        var front = ProcessEnvironment.Read(app.GetProcessId("front")!.Value);
        Assert.Equal(Url(app, "backend", "http"), front["services__backend__http__0"]);
        Assert.Equal(Url(app, "backend", "grpc"), front["services__backend__grpc__0"]);
        Assert.Equal(RedisConnection, front["ConnectionStrings__redis"]);
        Assert.Equal(DatabaseConnection, front["ConnectionStrings__orders"]);
        Assert.Equal("front", front["OTEL_SERVICE_NAME"]);
        Assert.Equal("on", front["FEATURE_FLAG"]);
        Assert.Equal(Url(app, "front", "http"), front["ASPNETCORE_URLS"]);

        // Two endpoints with different protocols: Kestrel endpoints, not ASPNETCORE_URLS.
        var backendEnvironment = ProcessEnvironment.Read(app.GetProcessId("backend")!.Value);
        Assert.False(backendEnvironment.ContainsKey("ASPNETCORE_URLS"));
        Assert.Equal(Url(app, "backend", "grpc"), backendEnvironment["Kestrel__Endpoints__grpc__Url"]);
        Assert.Equal("Http2", backendEnvironment["Kestrel__Endpoints__grpc__Protocols"]);
        Assert.Equal("Http1", backendEnvironment["Kestrel__Endpoints__http__Protocols"]);
        Assert.False(backendEnvironment.ContainsKey("ConnectionStrings__redis")); // only what it references

        // The grpc endpoint really is cleartext HTTP/2 (prior knowledge), as gRPC clients need.
        using var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await http2.GetAsync(new Uri(app.GetEndpoint("backend", "grpc"), "/health"), Cancellation);
        Assert.Equal(HttpVersion.Version20, response.Version);

        var events = app.ResourceEvents;
        Assert.True(
            IndexOf(events, "front", ResourceState.Starting) > IndexOf(events, "backend", ResourceState.Running),
            "front started before backend was healthy: " + string.Join(", ", events));
        Assert.Contains(events, e => e is { Resource: "redis", State: ResourceState.Running, ProcessId: null });
        Assert.Contains("redis: using ConnectionStrings__redis", _output.ToString(), StringComparison.Ordinal);
        Assert.Matches(@"front\s+project\s+Running\s+http://127\.0\.0\.1:\d+", _output.ToString());
    }

    [Fact]
    public async Task Stop_ends_every_project_dependents_first_and_leaves_no_process()
    {
        var builder = CreateBuilder();
        var backend = builder.AddProject<Projects.MockUpstream>("backend");
        builder.AddProject<Projects.MockUpstream>("front").WithReference(backend).WaitFor(backend);
        var app = builder.Build();
        await app.StartAsync(Cancellation);
        var pids = app.ChildProcessIds;
        Assert.Equal(2, pids.Count);
        var ports = new[] { app.GetEndpoint("backend").Port, app.GetEndpoint("front").Port };

        await app.DisposeAsync();

        Assert.All(pids, pid => Assert.False(ProcessEnvironment.IsAlive(pid), $"process {pid} is still running"));
        foreach (var port in ports)
        {
            Assert.False(await FreePort.IsListeningAsync(port, Cancellation), $"port {port} still listens");
        }

        var stops = app.ResourceEvents.Where(e => e.State == ResourceState.Stopped).Select(e => e.Resource).ToList();
        Assert.Equal(["front", "backend"], stops);
    }

    [Fact]
    public async Task A_project_that_exits_early_fails_the_start_fast_with_its_name_code_and_output()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var builder = CreateBuilder();
        // Its endpoint is free, but it is told to listen on the taken port: Kestrel fails to bind and exits.
        builder.AddProject<Projects.MockUpstream>("broken").WithEnvironment("ASPNETCORE_URLS", $"http://127.0.0.1:{port}");
        // Listens elsewhere than its http endpoint, so it would never report healthy: without fail
        // fast, the start would wait for its whole health timeout.
        builder.AddProject<Projects.MockUpstream>("never-healthy")
            .WithEnvironment("ASPNETCORE_URLS", $"http://127.0.0.1:{FreePort.Next()}");
        await using var app = builder.Build();

        var started = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync(Cancellation));

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"took {started.Elapsed}");
        Assert.StartsWith("broken exited with code ", error.Message, StringComparison.Ordinal);
        Assert.Contains("address already in use", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(app.ResourceEvents, e => e is { Resource: "broken", State: ResourceState.FailedToStart });

        var pids = app.ChildProcessIds;
        await app.StopAsync();
        Assert.All(pids, pid => Assert.False(ProcessEnvironment.IsAlive(pid), $"process {pid} is still running"));
    }

    [Fact]
    public async Task A_fixed_port_in_use_is_reported_before_anything_starts()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var builder = CreateBuilder();
        var backend = builder.AddProject<Projects.MockUpstream>("backend");
        builder.AddProject<Projects.MockUpstream>("public").WithHttpEndpoint(port, "localhost").WaitFor(backend);
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync(Cancellation));

        Assert.StartsWith($"public: port {port} (http endpoint) is already in use.", error.Message, StringComparison.Ordinal);
        Assert.Empty(app.ChildProcessIds);
    }

    [Fact]
    public async Task A_project_that_was_not_built_is_a_clear_error()
    {
        var builder = CreateBuilder();
        builder.AddProject<NotBuiltProject>("ghost");
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync(Cancellation));

        Assert.Contains("ghost: the built project is missing (/nonexistent/bin/Ghost.dll)", error.Message, StringComparison.Ordinal);
        Assert.Contains("dotnet build", error.Message, StringComparison.Ordinal);
        Assert.Empty(app.ChildProcessIds);
    }

    [Fact]
    public void Resource_names_are_unique()
    {
        var builder = CreateBuilder();
        builder.AddRedis("cache");

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddProject<Projects.MockUpstream>("cache"));
        Assert.Contains("'cache'", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => TestDirectories.Delete(_directory);

    private IDistributedApplicationBuilder CreateBuilder() => DistributedApplicationTestingBuilder.Create(
        ["--data-root", _directory],
        new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = RedisConnection,
            ["ConnectionStrings:orders"] = DatabaseConnection,
        },
        TextWriter.Synchronized(_output));

    private static string Url(DistributedApplication app, string resource, string endpoint) =>
        app.GetEndpoint(resource, endpoint).GetLeftPart(UriPartial.Authority);

    private static int IndexOf(IReadOnlyList<ResourceEvent> events, string resource, ResourceState state)
    {
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].Resource == resource && events[i].State == state)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"No {state} event for {resource}: {string.Join(", ", events)}");
    }

    /// <summary>A project whose build output does not exist.</summary>
    public sealed class NotBuiltProject : IProjectMetadata
    {
        public string ProjectPath => "/nonexistent/Ghost.csproj";

        public string TargetPath => "/nonexistent/bin/Ghost.dll";
    }
}
