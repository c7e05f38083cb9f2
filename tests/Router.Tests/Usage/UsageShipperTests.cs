using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.Router.Usage;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Tests.Usage;

public sealed class UsageShipperTests(RouterAppFixture app)
{
    private static UsageRecord Record(string id) => new() { RequestId = id, ServedModel = "mock/gpt-4o-mini", PromptTokens = 1, CompletionTokens = 2 };

    [Fact]
    public async Task Stop_drains_every_queued_record_in_bounded_batches()
    {
        var options = Options.Create(new RouterOptions { UsageBatchSize = 500, UsageQueueCapacity = 5000 });
        var queue = new UsageQueue(options, NullLogger<UsageQueue>.Instance);
        using var channel = GrpcChannel.ForAddress(app.GrpcUrl);
        using var shipper = new UsageShipper(queue, new Ledger.LedgerClient(channel), options, TimeProvider.System, NullLogger<UsageShipper>.Instance);
        var prefix = "drain-" + Guid.NewGuid().ToString("N") + "-";
        var batchesBefore = app.Ledger.Batches;

        for (var i = 0; i < 1200; i++)
        {
            await queue.EnqueueAsync(Record(prefix + i));
        }

        await shipper.StartAsync(TestContext.Current.CancellationToken);
        await shipper.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);

        Assert.All(Enumerable.Range(0, 1200), i => Assert.True(app.Ledger.TryGet(prefix + i, out _), $"record {i} missing"));
        // 1200 records need at least 3 batches of at most 500.
        Assert.InRange(app.Ledger.Batches - batchesBefore, 3, 1200);
    }

    [Fact]
    public async Task Unacknowledged_batches_are_retried_until_the_ledger_answers()
    {
        // A ledger that is down at first: the shipper must keep the batch and retry, not drop it.
        var options = Options.Create(new RouterOptions());
        var queue = new UsageQueue(options, NullLogger<UsageQueue>.Instance);
        var proxy = new FlakyLedgerInvoker(failures: 2);
        using var channel = GrpcChannel.ForAddress(app.GrpcUrl, new GrpcChannelOptions { HttpHandler = proxy });
        using var shipper = new UsageShipper(queue, new Ledger.LedgerClient(channel), options, TimeProvider.System, NullLogger<UsageShipper>.Instance);
        var id = "retry-" + Guid.NewGuid().ToString("N");

        await shipper.StartAsync(TestContext.Current.CancellationToken);
        await queue.EnqueueAsync(Record(id));
        var record = await app.Ledger.WaitForAsync(id);
        await shipper.StopAsync(CancellationToken.None);

        Assert.Equal(id, record.RequestId);
        Assert.Equal(3, proxy.Calls);
    }

    [Fact]
    public async Task An_invalid_record_is_dropped_alone_and_the_rest_of_its_batch_is_written()
    {
        var options = Options.Create(new RouterOptions { UsageBatchSize = 500 });
        var queue = new UsageQueue(options, NullLogger<UsageQueue>.Instance);
        using var channel = GrpcChannel.ForAddress(app.GrpcUrl);
        using var shipper = new UsageShipper(queue, new Ledger.LedgerClient(channel), options, TimeProvider.System, NullLogger<UsageShipper>.Instance);
        var prefix = "invalid-" + Guid.NewGuid().ToString("N") + "-";

        for (var i = 0; i < 10; i++)
        {
            await queue.EnqueueAsync(i == 4 ? new UsageRecord { RequestId = prefix + i, PromptTokens = -1 } : Record(prefix + i));
        }

        await shipper.StartAsync(TestContext.Current.CancellationToken);
        await shipper.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);

        Assert.All(Enumerable.Range(0, 10).Where(i => i != 4), i => Assert.True(app.Ledger.TryGet(prefix + i, out _), $"record {i} missing"));
        Assert.False(app.Ledger.TryGet(prefix + 4, out _));
    }

    /// <summary>Fails the first calls with a connection error, then passes through.</summary>
    private sealed class FlakyLedgerInvoker(int failures) : DelegatingHandler(new SocketsHttpHandler())
    {
        public int Calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref Calls) <= failures
                ? throw new HttpRequestException(HttpRequestError.ConnectionError, "simulated outage")
                : base.SendAsync(request, cancellationToken);
    }
}
