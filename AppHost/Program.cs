using Gateway.Aspire.AppHost;
using Gateway.Aspire.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

var redis = builder.AddRedis("redis");
var gatewaydb = builder.AddPostgres("postgres").AddDatabase("gatewaydb");

var adminKey = builder.AddParameter(
    "gateway-admin-key", () => AdminKey.FromConfigurationOrNew(builder.Configuration, builder.Options.Output), secret: true);
var gatewayConfig = GatewayConfigurationFile.Locate(builder.Configuration, builder.Options.RepositoryRoot);

var policy = builder.AddProject<Projects.Policy>("policy")
    .WithGrpcEndpoint()
    .WithReference(redis).WithReference(gatewaydb)
    .WaitFor(redis).WaitFor(gatewaydb)
    .WithEnvironment("GATEWAY_ADMIN_KEY", adminKey)
    .WithEnvironment("GATEWAY_CONFIG", gatewayConfig.Path); // policy owns the rate-limit documents

var accounting = builder.AddProject<Projects.Accounting>("accounting")
    .WithGrpcEndpoint()
    .WithReference(redis).WithReference(gatewaydb) // the alert queue, the ledger
    .WaitFor(redis).WaitFor(gatewaydb)
    .WithEnvironment("GATEWAY_CONFIG", gatewayConfig.Path) // accounting owns the gateway-alerts-config documents
    // Where the ledger is buffered (fsynced) while PostgreSQL is down: beside the other local data.
    .WithEnvironment("Accounting__Ledger__SpoolDirectory", Path.Combine(builder.Options.DataRoot, "accounting-spool"));

var guardrails = builder.AddProject<Projects.Guardrails>("guardrails")
    .WithGrpcEndpoint()
    .WithReference(redis).WaitFor(redis) // live configuration: rules reload on every replica
    .WithEnvironment("GATEWAY_CONFIG", gatewayConfig.Path); // guardrails owns the guardrails documents

var router = builder.AddProject<Projects.Router>("router")
    .WithExternalHttpEndpoints()
    .WithHttpEndpoint(port: GatewayPort.FromConfiguration(builder.Configuration), host: "localhost")
    .WithReference(redis) // latency samples, sticky sessions and the live configuration shared by replicas
    .WithReference(policy).WithReference(accounting).WithReference(guardrails)
    .WaitFor(redis).WaitFor(policy).WaitFor(accounting).WaitFor(guardrails)
    .WithEnvironment("GATEWAY_CONFIG", gatewayConfig.Path)
    .WithEnvironment("GATEWAY_ADMIN_KEY", adminKey);

// The quickstart's offline provider: started only when gateway.yaml points at it.
if (gatewayConfig.UsesMockUpstream(MockUpstream.Port(builder.Configuration)))
{
    var mockKey = builder.AddParameter("mock-api-key", () => MockUpstream.ApiKey(builder.Configuration), secret: true);
    var mock = builder.AddProject<Projects.MockUpstream>("mock-upstream")
        .WithHttpEndpoint(port: MockUpstream.Port(builder.Configuration))
        .WithEnvironment("MOCK_API_KEY", mockKey);
    router.WithEnvironment("MOCK_API_KEY", mockKey).WaitFor(mock);
}

builder.Build().Run();
