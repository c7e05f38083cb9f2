using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.Aspire.Testing;
using Npgsql;
using OpenAI;
using OpenAI.Chat;
using StackExchange.Redis;

namespace Gateway.Aspire.AppHost.Tests.EndToEnd;

/// <summary>
/// The whole app with two budgets on mock-claude/sonnet that every call counts into: a hard one of
/// 0.002 USD a day per virtual account (it decides) and one of 100 USD a month.
/// </summary>
public sealed class SpendRebuildGatewayAppFixture : GatewayAppFixture
{
    /// <inheritdoc />
    protected override IEnumerable<string> AdditionalDocuments =>
    [
        """
        type: gateway-budget-config
        name: e2e-rebuild
        rules:
          - id: e2e-daily-per-account
            when:
              models: [mock-claude/sonnet]
            limit_to: 0.002
            unit: cost_per_day
            budget_applies_per: [virtualaccount]
          - id: e2e-monthly
            when:
              models: [mock-claude/sonnet]
            limit_to: 100
            unit: cost_per_month
        """,
    ];
}

/// <summary>
/// Redis loses the budget counters (FLUSHALL); <c>POST /admin/v1/spend/rebuild</c> sets them again
/// from the ledger, to the same values, and the budget blocks exactly as before.
/// </summary>
public sealed class SpendRebuildEndToEndTests(SpendRebuildGatewayAppFixture app) : IClassFixture<SpendRebuildGatewayAppFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task After_redis_loses_the_counters_a_rebuild_from_the_ledger_restores_them_and_the_budget_blocks_as_before()
    {
        var (tokenId, secret) = await app.CreateTokenWithIdAsync("e2e-rebuild-account", cancellationToken: Cancellation);
        var client = new ChatClient("mock-claude/sonnet", new ApiKeyCredential(secret),
            new OpenAIClientOptions { Endpoint = new Uri(app.RouterUrl, "/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 100 };

        // Spend until the daily budget refuses (each call reserves up to 0.0015 USD, costs far less).
        // Settlements are not awaited by the calls, so a refusal can come while earlier reservations
        // are still open: spend again until a refusal holds once the ledger has every call.
        var admitted = 0;
        string? refusal = null;
        while (refusal is null)
        {
            Assert.True(admitted < 30, "the budget never refused");
            if (await RefusalOrNullAsync(client, options) is not null)
            {
                await WaitForLedgerRowsAsync(tokenId, admitted);
                refusal = await RefusalOrNullAsync(client, options);
            }

            admitted += refusal is null ? 1 : 0;
        }

        var configuration = ConfigurationOptions.Parse(app.App.GetConnectionString("redis"));
        configuration.AllowAdmin = true;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        var before = await CountersAsync(redis);
        Assert.Equal(2, before.Count); // the account's daily counter and the monthly one
        Assert.Equal(refusal, await RefusalOrNullAsync(client, options));

        await redis.GetServers().Single().FlushAllDatabasesAsync();
        Assert.Empty(await CountersAsync(redis));

        using var http = new HttpClient { BaseAddress = app.RouterUrl };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/spend/rebuild");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", app.AdminKey);
        using var response = await http.SendAsync(request, Cancellation);
        var body = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(2, json.RootElement.GetProperty("counters").GetArrayLength());

        Assert.Equal(before, await CountersAsync(redis));
        Assert.Equal(refusal, await RefusalOrNullAsync(client, options));
    }

    [Fact]
    public async Task Rebuild_needs_the_admin_credential()
    {
        using var http = new HttpClient { BaseAddress = app.RouterUrl };
        using var anonymous = await http.PostAsync("/admin/v1/spend/rebuild", null, Cancellation);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/spend/rebuild");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await app.CreateTokenAsync("e2e-not-admin", Cancellation));
        using var notAdmin = await http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.StatusCode);
    }

    /// <summary>The 429 message of a refused call (it names the spend), or null when the call was admitted.</summary>
    private static async Task<string?> RefusalOrNullAsync(ChatClient client, ChatCompletionOptions options)
    {
        try
        {
            await client.CompleteChatAsync([new UserChatMessage("hi")], options, Cancellation);
            return null;
        }
        catch (ClientResultException e) when (e.Status == 429)
        {
            using var body = JsonDocument.Parse(e.GetRawResponse()!.Content.ToString());
            return body.RootElement.GetProperty("error").GetProperty("message").GetString();
        }
    }

    private async Task WaitForLedgerRowsAsync(string tokenId, int expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            await using var connection = new NpgsqlConnection(app.GatewayDbConnectionString);
            await connection.OpenAsync(Cancellation);
            await using var command = new NpgsqlCommand("SELECT count(*) FROM accounting.ledger WHERE token_id = $1 AND status_code = 200", connection);
            command.Parameters.AddWithValue(tokenId);
            if ((long)(await command.ExecuteScalarAsync(Cancellation))! >= expected)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"fewer than {expected} ledger rows within 15 s");
            await Task.Delay(100, Cancellation);
        }
    }

    private static async Task<SortedDictionary<string, string>> CountersAsync(ConnectionMultiplexer redis)
    {
        var counters = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var database = redis.GetDatabase();
        await foreach (var key in redis.GetServers().Single().KeysAsync(pattern: "policy:budget:*"))
        {
            counters[key.ToString()] = (await database.StringGetAsync(key)).ToString();
        }

        return counters;
    }
}
