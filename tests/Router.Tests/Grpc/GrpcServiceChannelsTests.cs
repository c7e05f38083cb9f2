using System.Net;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.ServiceDefaults.Grpc;
using Grpc.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gateway.Aspire.Router.Tests.Grpc;

/// <summary>
/// The router's gRPC clients: one channel per service whose address service discovery resolves once
/// (Aspire's <c>services__{service}__grpc__0</c>), shared by every client of that service, over real
/// HTTP/2 to a policy test double.
/// </summary>
public sealed class GrpcServiceChannelsTests : IAsyncLifetime
{
    private WebApplication? _policy;
    private Uri _policyUrl = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        _policy = builder.Build();
        _policy.MapGrpcService<TestPolicy.AdmissionService>();
        _policy.MapGrpcService<TestPolicy.TokensService>();
        await _policy.StartAsync(TestContext.Current.CancellationToken);
        _policyUrl = new Uri(_policy.Urls.First());
    }

    public async ValueTask DisposeAsync()
    {
        if (_policy is not null)
        {
            await _policy.DisposeAsync();
        }
    }

    [Fact]
    public async Task Clients_of_one_service_share_the_channel_resolved_from_the_first_address()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["services:policy:grpc:0"] = _policyUrl.ToString() })
            .Build();
        await using var services = Services(configuration);

        var admission = services.GetRequiredService<Admission.AdmissionClient>();
        var reply = await admission.AdmitAsync(new AdmitRequest { Token = TestPolicy.GoodToken, RequestId = "r1" }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(AdmitDecision.Allowed, reply.Decision);

        // The address is not looked up again: a later change (here to a port where nothing listens)
        // does not reach clients created afterwards, which use the channel already open.
        configuration["services:policy:grpc:0"] = "http://127.0.0.1:1";
        configuration.Reload();
        var tokens = services.GetRequiredService<Tokens.TokensClient>();
        var created = await tokens.CreateTokenAsync(
            new CreateTokenRequest { Name = "t" }, new Metadata { { "authorization", "Bearer " + TestPolicy.AdminKey } }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("gw-new-secret", created.Token);
        Assert.Equal(_policyUrl.Authority, services.GetRequiredService<GrpcServiceChannels>().Get("policy").Target);
    }

    [Fact]
    public async Task Many_concurrent_calls_share_the_channel()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["services:policy:grpc:0"] = _policyUrl.ToString() })
            .Build();
        await using var services = Services(configuration);
        var admission = services.GetRequiredService<Admission.AdmissionClient>();

        var replies = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            admission.AdmitAsync(new AdmitRequest { Token = TestPolicy.GoodToken, RequestId = $"r{i}" }, cancellationToken: TestContext.Current.CancellationToken).ResponseAsync));

        Assert.All(replies, r => Assert.Equal(AdmitDecision.Allowed, r.Decision));
    }

    [Fact]
    public async Task A_service_without_an_address_fails_its_calls_as_unavailable_not_the_start()
    {
        await using var services = Services(new ConfigurationBuilder().Build());

        // Service discovery passes the service name through as a host name, as it did per call before
        // (a container network may know it); here no such host exists.
        var admission = services.GetRequiredService<Admission.AdmissionClient>();
        Assert.Equal("policy", services.GetRequiredService<GrpcServiceChannels>().Get("policy").Target);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await admission.AdmitAsync(new AdmitRequest { Token = TestPolicy.GoodToken }, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public void Connections_are_recycled_so_a_moved_address_is_looked_up_again()
    {
        using var handler = GrpcServiceChannels.CreateHandler();

        Assert.Equal(GrpcServiceChannels.ConnectionLifetime, handler.PooledConnectionLifetime);
        Assert.True(handler.EnableMultipleHttp2Connections);
        Assert.False(handler.AllowAutoRedirect);
    }

    private static ServiceProvider Services(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging();
        services.AddServiceDiscovery();
        services.AddGrpcServiceClient("policy", channel => new Admission.AdmissionClient(channel));
        services.AddGrpcServiceClient("policy", channel => new Tokens.TokensClient(channel));
        return services.BuildServiceProvider();
    }
}
