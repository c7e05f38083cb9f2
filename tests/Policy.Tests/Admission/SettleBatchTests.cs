using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Testing;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Policy.Tests.Admission;

/// <summary>
/// Admission.SettleBatch over real gRPC: two policy replicas sharing Redis, fed by two simulated
/// routers whose batches race, and some of which are resent as a router does after a lost reply.
/// </summary>
public sealed class SettleBatchTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private const long TokenLimit = 100_000_000;
    private const long BudgetLimitNanoUsd = 1_000 * 1_000_000_000L;
    private const long ReservedTokens = 100 + 500;
    private const long ReservedNanoUsd = 1_000_000;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 7, 12, 0, 0, TimeSpan.Zero));
    private PolicyReplicas? _replicas;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private PolicyTestHost First => _replicas!.First;

    private PolicyTestHost Second => _replicas!.Second;

    public async ValueTask InitializeAsync() => _replicas = await PolicyReplicas.StartAsync(postgres, redis, _time, "policy-settle", $"""
                type: gateway-rate-limiting-config
                name: limits
                rules:
                  - id: tokens
                    when: {"{"} subjects: ["virtualaccount:busy"] {"}"}
                    limit_to: {TokenLimit}
                    unit: tokens_per_minute
                ---
                type: gateway-budget-config
                name: budgets
                rules:
                  - id: daily
                    when: {"{"} subjects: ["virtualaccount:busy"] {"}"}
                    limit_to: 1000
                    unit: cost_per_day
                """);

    public ValueTask DisposeAsync() => _replicas?.DisposeAsync() ?? ValueTask.CompletedTask;

    [Fact]
    public async Task RacingAndResentBatches_FromTwoRouters_OverTwoReplicas_LeaveTheCountersAtTheSumOfActualUsage()
    {
        var token = (await First.CreateTokenAsync("busy")).Token;
        var hosts = new[] { First, Second };
        var admitted = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Admit(hosts[i % 2], token, $"call-{i}", ReservedNanoUsd)));
        Assert.All(admitted, a => Assert.Equal(AdmitDecision.Allowed, a.Decision));

        // Actual usage: above and below the reservation, zero (a failed call); every tenth cost unknown (keeps its reservation).
        var random = new Random(8);
        var settlements = admitted.Select((a, i) =>
        {
            var settle = new SettleRequest { RequestId = $"call-{i}", Reservation = a.Reservation, BudgetReservation = a.BudgetReservation, ActualTokens = random.Next(0, 900) };
            if (i % 10 != 0)
            {
                settle.ActualCostNanoUsd = random.Next(0, 2_000_000);
            }

            return settle;
        }).ToArray();
        var expectedTokens = settlements.Sum(s => s.ActualTokens);
        var expectedCost = settlements.Sum(s => s.HasActualCostNanoUsd ? s.ActualCostNanoUsd : ReservedNanoUsd);

        // Two routers, each with half the calls, cut into batches of 1 to 40 that race each other.
        var routers = new[] { settlements.Where((_, i) => i % 2 == 0).ToArray(), settlements.Where((_, i) => i % 2 == 1).ToArray() };
        var replies = await Task.WhenAll(routers.Select((calls, r) => Task.Run(() => ShipAsync(calls, hosts, new Random(r)))));

        // A resent batch (its first reply lost) or a copy racing its original changed nothing the second time.
        Assert.All(replies.SelectMany(r => r), pair => Assert.Equal(1, pair.Count(reply => reply.Applied)));
        var check = await Admit(Second, token, "check", costNanoUsd: 1);
        Assert.Equal(TokenLimit - expectedTokens - ReservedTokens, check.RateLimits[0].Remaining);
        Assert.Equal(expectedCost + 1, check.Budgets[0].SpentNanoUsd);
    }

    [Fact]
    public async Task MalformedOrEmptyReservations_AreSkipped_AndTheRestOfTheBatchSettles()
    {
        var token = (await First.CreateTokenAsync("busy")).Token;
        var admitted = await Admit(First, token, "good", ReservedNanoUsd);

        var reply = await Second.Admission.SettleBatchAsync(new SettleBatchRequest
        {
            BatchId = Guid.NewGuid().ToString("N"),
            Settlements =
            {
                new SettleRequest { RequestId = "garbage", Reservation = "garbage", BudgetReservation = "1\nnot-a-budget-key", ActualTokens = 1, ActualCostNanoUsd = 1 },
                new SettleRequest { RequestId = "nothing-reserved" },
                new SettleRequest { RequestId = "good", Reservation = admitted.Reservation, BudgetReservation = admitted.BudgetReservation, ActualTokens = 10, ActualCostNanoUsd = 20 },
            },
        }, cancellationToken: Cancellation);

        Assert.True(reply.Applied);
        Assert.Equal(2, reply.Settled);
        var check = await Admit(Second, token, "check", costNanoUsd: 1);
        Assert.Equal(TokenLimit - 10 - ReservedTokens, check.RateLimits[0].Remaining);
        Assert.Equal(20 + 1, check.Budgets[0].SpentNanoUsd);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a-batch-id-far-too-long-a-batch-id-far-too-long-a-batch-id-far-too-long-a-batch-id-far-too-long-a-batch-id-far-too-long-a-batch-id-far-too-long")]
    public async Task ABatchWithoutAUsableId_IsRefusedAsInvalid(string batchId)
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await First.Admission.SettleBatchAsync(
            new SettleBatchRequest { BatchId = batchId, Settlements = { new SettleRequest { RequestId = "r" } } }, cancellationToken: Cancellation));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    /// <summary>
    /// Sends <paramref name="calls"/> as a router would, in batches of random size to a random replica;
    /// every third batch is sent twice, the copy either after the original (a retry) or racing it.
    /// Returns the replies of each batch.
    /// </summary>
    private static async Task<List<SettleBatchReply[]>> ShipAsync(SettleRequest[] calls, PolicyTestHost[] hosts, Random random)
    {
        var replies = new List<SettleBatchReply[]>();
        for (var i = 0; i < calls.Length;)
        {
            var size = Math.Min(calls.Length - i, random.Next(1, 41));
            var batch = new SettleBatchRequest { BatchId = Guid.NewGuid().ToString("N"), Settlements = { calls.AsSpan(i, size).ToArray() } };
            i += size;
            var host = hosts[random.Next(2)];
            var other = hosts[random.Next(2)];
            switch (replies.Count % 3)
            {
                case 0:
                    replies.Add([await Send(host, batch), await Send(other, batch)]);
                    break;
                case 1:
                    replies.Add(await Task.WhenAll(Send(host, batch), Send(other, batch)));
                    break;
                default:
                    replies.Add([await Send(host, batch)]);
                    break;
            }
        }

        return replies;
    }

    private static Task<SettleBatchReply> Send(PolicyTestHost host, SettleBatchRequest batch) =>
        host.Admission.SettleBatchAsync(batch, cancellationToken: Cancellation).ResponseAsync;

    private static Task<AdmitReply> Admit(PolicyTestHost host, string token, string requestId, long costNanoUsd) =>
        host.Admission.AdmitAsync(new AdmitRequest
        {
            Token = token,
            Model = "mock/gpt-4o-mini",
            RequestId = requestId,
            EstimatedPromptTokens = 100,
            MaxTokens = 500,
            MaxCostNanoUsd = costNanoUsd,
        }, cancellationToken: Cancellation).ResponseAsync;
}
