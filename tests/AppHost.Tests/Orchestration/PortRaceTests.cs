using System.Net;
using System.Net.Sockets;
using Gateway.Aspire.Hosting;
using Gateway.Aspire.Hosting.ApplicationModel;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Hosting.Testing;
using Gateway.Aspire.Testing;

namespace Gateway.Aspire.AppHost.Tests.Orchestration;

/// <summary>
/// The CI flake behind "accounting exited with code 134 right after its migrations": a port the
/// AppHost chose was free when chosen, but another process listened on it before the service did
/// (concurrent test processes all choose ports with bind(0)). Kestrel then failed to bind, the failed
/// start disposed the host (which cancelled the background loops: "BackgroundService failed
/// TaskCanceledException"), and the bind error escaped Main: an unhandled exception, so abort(), 134.
/// Real Redis and PostgreSQL, the real accounting service.
/// </summary>
public sealed class PortRaceTests : IDisposable
{
    private readonly string _directory = TestDirectories.Create("port-race");
    private readonly StringWriter _output = new();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_service_whose_chosen_port_was_taken_before_it_listened_is_started_again_on_a_new_port()
    {
        // The first port the AppHost hands out is taken meanwhile: another process listens there (as
        // another test's server does that was handed the same port by bind(0)).
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var taken = ((IPEndPoint)other.LocalEndpoint).Port;
        var handedOut = 0;

        var builder = DistributedApplicationTestingBuilder.Create(
            ["--data-root", _directory],
            new Dictionary<string, string?> { ["ConnectionStrings:redis"] = "", ["ConnectionStrings:gatewaydb"] = "" },
            TextWriter.Synchronized(_output),
            nextFreePort: () => Interlocked.Increment(ref handedOut) == 1 ? taken : FreePort.Next());
        var redis = builder.AddRedis("redis");
        var gatewaydb = builder.AddPostgres("postgres").AddDatabase("gatewaydb");
        builder.AddProject<Projects.Accounting>("accounting")
            .WithGrpcEndpoint()
            .WithReference(redis).WithReference(gatewaydb)
            .WaitFor(redis).WaitFor(gatewaydb)
            .WithEnvironment("Accounting__Ledger__SpoolDirectory", Path.Combine(_directory, "spool"));
        await using var app = builder.Build();

        await app.StartAsync(Cancellation);

        // The first start lost its port, as in CI; the AppHost saw why and started it again elsewhere.
        var log = _output.ToString();
        Assert.Contains($"accounting: port {taken} was taken by another process before accounting could listen on it", log, StringComparison.Ordinal);
        Assert.Contains($"Failed to bind to address http://127.0.0.1:{taken}", log, StringComparison.Ordinal);
        var http = app.GetEndpoint("accounting");
        Assert.NotEqual(taken, http.Port);

        // The second process is the one running, and it stays up: healthy, its background loops alive.
        using var client = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri(http, "/health"), Cancellation)).StatusCode);
        var pid = app.GetProcessId("accounting");
        Assert.NotNull(pid);
        Assert.True(ProcessEnvironment.IsAlive(pid.Value));
        Assert.Single(app.ResourceEvents, e => e is { Resource: "accounting", State: ResourceState.Running });
        Assert.DoesNotContain("exited unexpectedly", log, StringComparison.Ordinal);

        await app.StopAsync();
        Assert.False(ProcessEnvironment.IsAlive(pid.Value), "accounting still runs after the stop");
    }

    public void Dispose() => TestDirectories.Delete(_directory);
}
