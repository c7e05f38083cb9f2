using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Extensions;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Identities;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Aspire.Policy.Tests;

/// <summary>
/// The policy service composed exactly as Program.cs does, hosted in-process on Kestrel with the
/// AppHost's endpoint layout (HTTP/1.1 <c>http</c>, HTTP/2 <c>grpc</c>) and called over real gRPC.
/// </summary>
internal sealed class PolicyTestHost : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly GrpcServiceTestHost _host;

    private PolicyTestHost(GrpcServiceTestHost host)
    {
        _host = host;
        Admission = new Grpc.Admission.AdmissionClient(host.Channel);
        Tokens = new Grpc.Tokens.TokensClient(host.Channel);
        Identities = new Grpc.Identities.IdentitiesClient(host.Channel);
    }

    public string HttpUrl => _host.HttpUrl;

    public Grpc.Admission.AdmissionClient Admission { get; }

    public Grpc.Tokens.TokensClient Tokens { get; }

    public Grpc.Identities.IdentitiesClient Identities { get; }

    public IServiceProvider Services => _host.Services;

    public static async Task<PolicyTestHost> StartAsync(
        string redis, string gatewaydb, string? adminKey = AdminKey, TimeProvider? time = null, string? gatewayConfig = null)
    {
        var host = await GrpcServiceTestHost.StartAsync(
            typeof(AdmissionService).Assembly,
            new Dictionary<string, string?>
            {
                ["ConnectionStrings:redis"] = redis,
                ["ConnectionStrings:gatewaydb"] = gatewaydb,
                [AdminKeyOptions.ConfigurationKey] = adminKey,
                ["GATEWAY_CONFIG"] = gatewayConfig,
            },
            builder =>
            {
                builder.AddApplicationServices();
                if (time is not null)
                {
                    builder.Services.AddSingleton(time);
                }
            },
            app =>
            {
                app.MapGrpcService<AdmissionService>();
                app.MapGrpcService<TokensService>();
                app.MapGrpcService<IdentitiesService>();
                app.MapGrpcService<Gateway.Aspire.Policy.Budgets.SpendService>();
            });
        return new PolicyTestHost(host);
    }
    /// <summary>Creates a token with the admin key.</summary>
    public async Task<CreateTokenReply> CreateTokenAsync(string name, IEnumerable<string>? models = null, DateTimeOffset? expiresAt = null)
    {
        var request = new CreateTokenRequest { Name = name };
        request.Models.AddRange(models ?? []);
        if (expiresAt is { } expiry)
        {
            request.ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(expiry);
        }

        return await Tokens.CreateTokenAsync(request, AdminHeaders(), cancellationToken: TestContext.Current.CancellationToken);
    }

    /// <summary>Creates a token of any kind with the admin key.</summary>
    public Task<CreateTokenReply> CreateTokenAsync(CreateTokenRequest request) =>
        Tokens.CreateTokenAsync(request, AdminHeaders(), cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;

    /// <summary>Creates a user with the admin key.</summary>
    public async Task<User> CreateUserAsync(string name, bool admin = false) =>
        await Identities.CreateUserAsync(new CreateUserRequest { Name = name, Admin = admin }, AdminHeaders(), cancellationToken: TestContext.Current.CancellationToken);

    /// <summary>Creates a team with the admin key and adds <paramref name="members"/>.</summary>
    public async Task<Team> CreateTeamAsync(string name, IEnumerable<string>? models = null, params string[] members)
    {
        var team = await Identities.CreateTeamAsync(new CreateTeamRequest { Name = name, Models = { models ?? [] } }, AdminHeaders(),
            cancellationToken: TestContext.Current.CancellationToken);
        foreach (var member in members)
        {
            team = await Identities.AddTeamMemberAsync(new TeamMemberRequest { Team = name, User = member }, AdminHeaders(),
                cancellationToken: TestContext.Current.CancellationToken);
        }

        return team;
    }

    /// <summary>Creates a personal token for <paramref name="user"/>.</summary>
    public Task<CreateTokenReply> CreatePersonalTokenAsync(string user, string name = "laptop") =>
        CreateTokenAsync(new CreateTokenRequest { Name = name, Kind = "personal", User = user });

    public static global::Grpc.Core.Metadata AdminHeaders(string key = AdminKey) => new() { { "authorization", "Bearer " + key } };

    public async Task<AdmitReply> AdmitAsync(string token, string model = "", IReadOnlyDictionary<string, string>? metadata = null)
    {
        var request = new AdmitRequest { Token = token, Model = model, RequestId = "req-test" };
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            request.Metadata[key] = value;
        }
        return await Admission.AdmitAsync(request, cancellationToken: TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
