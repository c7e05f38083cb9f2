using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Settlement;
using Gateway.Aspire.Router.Tests.TestHosts;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Tests.Settlement;

/// <summary>The router's settlement queue and shipper against the policy double over real gRPC.</summary>
public sealed class SettlementShipperTests(RouterAppFixture app)
{
    private static SettleRequest Settle(string id) => new() { RequestId = id, Reservation = "r-" + id, ActualTokens = 7, BudgetReservation = "b-" + id, ActualCostNanoUsd = 9 };

    private static SettlementShipper Shipper(IOptions<RouterOptions> options, SettlementQueue queue, GrpcChannel channel) =>
        new(queue, new Admission.AdmissionClient(channel), options, TimeProvider.System, NullLogger<SettlementShipper>.Instance);

    [Fact]
    public async Task Stop_drains_every_queued_settlement_in_bounded_batches()
    {
        // A linger of minutes: only the stop's drain sends what is queued.
        var options = Options.Create(new RouterOptions { SettleBatchSize = 100, SettleBatchDelay = TimeSpan.FromMinutes(5) });
        var queue = new SettlementQueue(options, NullLogger<SettlementQueue>.Instance);
        using var channel = GrpcChannel.ForAddress(app.GrpcUrl);
        using var shipper = Shipper(options, queue, channel);
        var prefix = "settle-drain-" + Guid.NewGuid().ToString("N") + "-";

        await shipper.StartAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 250; i++)
        {
            queue.Enqueue(Settle(prefix + i));
        }

        await shipper.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);

        Assert.All(Enumerable.Range(0, 250), i => Assert.Equal(Settle(prefix + i), TestPolicy.Settles[prefix + i]));
        var batches = TestPolicy.SettleBatches.Where(b => b.Settlements.Any(s => s.RequestId.StartsWith(prefix, StringComparison.Ordinal))).ToList();
        Assert.InRange(batches.Count, 3, 250);
        Assert.All(batches, b => Assert.InRange(b.Settlements.Count, 1, 100));
        Assert.Equal(batches.Count, batches.Select(b => b.BatchId).Distinct().Count());
    }

    [Fact]
    public async Task A_batch_whose_reply_was_lost_is_resent_unchanged_under_the_same_id()
    {
        var options = Options.Create(new RouterOptions());
        var queue = new SettlementQueue(options, NullLogger<SettlementQueue>.Instance);
        var proxy = new LostReplyInvoker(lostReplies: 2);
        using var channel = GrpcChannel.ForAddress(app.GrpcUrl, new GrpcChannelOptions { HttpHandler = proxy });
        using var shipper = Shipper(options, queue, channel);
        var id = "settle-retry-" + Guid.NewGuid().ToString("N");

        await shipper.StartAsync(TestContext.Current.CancellationToken);
        queue.Enqueue(Settle(id));
        await TestPolicy.WaitForSettleAsync(id);
        await shipper.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);

        // Policy received it three times (twice its reply was lost): the same id and items each time,
        // which is what lets policy apply it once.
        var sent = TestPolicy.SettleBatches.Where(b => b.Settlements.Any(s => s.RequestId == id)).ToList();
        Assert.Equal(3, sent.Count);
        Assert.Single(sent.Select(b => b.BatchId).Distinct());
        Assert.All(sent, b => Assert.Equal(sent[0], b));
        Assert.Equal(3, proxy.Calls);
    }

    [Fact]
    public void A_full_queue_drops_and_counts_what_does_not_fit()
    {
        var queue = new SettlementQueue(Options.Create(new RouterOptions { SettleQueueCapacity = 2 }), NullLogger<SettlementQueue>.Instance);

        for (var i = 0; i < 5; i++)
        {
            queue.Enqueue(Settle("full-" + i));
        }

        Assert.Equal(3, queue.TakeDropped());
        Assert.Equal(0, queue.TakeDropped());
        Assert.Equal(2, queue.Reader.Count);
    }

    /// <summary>Lets the first calls reach the server, then fails them as if the reply never came back.</summary>
    private sealed class LostReplyInvoker(int lostReplies) : DelegatingHandler(new SocketsHttpHandler())
    {
        public int Calls;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (Interlocked.Increment(ref Calls) > lostReplies)
            {
                return response;
            }

            // Read the whole reply first, so the server has answered before the "loss".
            await response.Content.ReadAsByteArrayAsync(cancellationToken);
            response.Dispose();
            throw new HttpRequestException(HttpRequestError.ConnectionError, "simulated lost reply");
        }
    }
}
