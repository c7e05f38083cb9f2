using Gateway.Aspire.Policy.Data;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Testing;

namespace Gateway.Aspire.Policy.Tests.Data;

public sealed class PolicyMigrationsTests(PostgresServerFixture postgres, RedisServerFixture redis)
{
    [Fact]
    public async Task StartingTwice_MigratesOnce_AndKeepsTheData()
    {
        var database = await postgres.CreateDatabaseAsync("policy");
        CreateTokenReply created;
        await using (var first = await PolicyTestHost.StartAsync(redis.NextDatabase(), database))
        {
            created = await first.CreateTokenAsync("ci");
        }

        await using var second = await PolicyTestHost.StartAsync(redis.NextDatabase(), database);

        Assert.Equal((long)PolicyMigrations.All.Count, await PostgresServerFixture.ScalarAsync<long>(database, "SELECT count(*) FROM policy.schema_migrations"));
        Assert.Equal(AdmitDecision.Allowed, (await second.AdmitAsync(created.Token)).Decision);
    }

    [Fact]
    public async Task Health_IsReadyWithRedisAndPostgres()
    {
        var database = await postgres.CreateDatabaseAsync("policy");
        await using var host = await PolicyTestHost.StartAsync(redis.NextDatabase(), database);
        using var http = new HttpClient();

        var response = await http.GetAsync(host.HttpUrl + "/health", TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }
}
