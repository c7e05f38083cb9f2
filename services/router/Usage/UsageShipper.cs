using Gateway.Aspire.Accounting.Grpc;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Usage;

/// <summary>
/// Sends queued usage records to accounting's Ledger in batches (up to
/// <see cref="RouterOptions.UsageBatchSize"/> records, or what arrived within
/// <see cref="RouterOptions.UsageBatchDelay"/>), retrying each batch with backoff until it is
/// acknowledged. Ledger.Record is idempotent on request id, so a retry after a lost
/// acknowledgement writes nothing twice.
/// </summary>
/// <remarks>
/// On shutdown the web server stops first (ASP.NET Core registers it as the last hosted service,
/// so it stops first), then this drains the queue within the host's shutdown timeout.
/// </remarks>
internal sealed class UsageShipper(
    UsageQueue queue,
    Ledger.LedgerClient ledger,
    IOptions<RouterOptions> options,
    TimeProvider time,
    ILogger<UsageShipper> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource _shutdownDeadline = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    /// <inheritdoc />
    /// <remarks>
    /// Not a BackgroundService: it starts ExecuteAsync through Task.Run with the stopping token,
    /// so a stop that comes before the task is scheduled cancels it unrun and the queue is never
    /// drained. This loop always runs, and drains on stop.
    /// </remarks>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Complete();
        _stopping.Cancel();
        using var registration = cancellationToken.Register(_shutdownDeadline.Cancel);
        if (_loop is not null)
        {
            await _loop;
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var batchSize = options.Value.UsageBatchSize;
        var batch = new RecordUsageRequest();
        try
        {
            // Not stoppingToken: on shutdown the loop keeps going until the completed queue is empty.
            while (await queue.Reader.WaitToReadAsync(_shutdownDeadline.Token))
            {
                await FillAsync(batch, batchSize, stoppingToken);
                await SendAsync(batch);
                batch.Records.Clear();
            }
        }
        catch (OperationCanceledException) when (_shutdownDeadline.IsCancellationRequested)
        {
            var lost = batch.Records.Count;
            while (queue.Reader.TryRead(out _))
            {
                lost++;
            }

            if (lost > 0)
            {
                RouterLog.UsageLostAtShutdown(logger, lost);
            }
        }
    }

    private async Task FillAsync(RecordUsageRequest batch, int batchSize, CancellationToken stoppingToken)
    {
        var reader = queue.Reader;
        while (batch.Records.Count < batchSize && reader.TryRead(out var record))
        {
            batch.Records.Add(record);
        }

        if (batch.Records.Count >= batchSize || stoppingToken.IsCancellationRequested)
        {
            return;
        }

        // Linger briefly so a busy router sends few large batches instead of many small ones.
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        linger.CancelAfter(options.Value.UsageBatchDelay);
        try
        {
            while (batch.Records.Count < batchSize && await reader.WaitToReadAsync(linger.Token))
            {
                while (batch.Records.Count < batchSize && reader.TryRead(out var record))
                {
                    batch.Records.Add(record);
                }
            }
        }
        catch (OperationCanceledException) when (linger.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(RecordUsageRequest batch)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var reply = await ledger.RecordAsync(batch, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: _shutdownDeadline.Token);
                RouterLog.UsageShipped(logger, batch.Records.Count, reply.Written, reply.Duplicates);
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
            {
                // Retrying cannot fix an invalid record, and one must not hold back the rest of its
                // batch forever: resend the records one by one and give up only on the bad ones.
                await SendEachAsync(batch, e);
                return;
            }
            catch (RpcException e) when (!_shutdownDeadline.IsCancellationRequested)
            {
                RouterLog.UsageShipFailed(logger, batch.Records.Count, e.StatusCode, delay);
            }
            catch (RpcException) when (_shutdownDeadline.IsCancellationRequested)
            {
                // gRPC reports its own cancellation as an RpcException; the caller counts the loss.
                throw new OperationCanceledException(_shutdownDeadline.Token);
            }

            await Task.Delay(delay, time, _shutdownDeadline.Token);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, s_maxBackoff.Ticks));
        }
    }

    private async Task SendEachAsync(RecordUsageRequest batch, RpcException rejection)
    {
        if (batch.Records.Count == 1)
        {
            RouterLog.UsageRejected(logger, batch.Records[0].RequestId, rejection.Status.Detail);
            return;
        }

        foreach (var record in batch.Records)
        {
            await SendAsync(new RecordUsageRequest { Records = { record } });
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _shutdownDeadline.Dispose();
        _stopping.Dispose();
    }
}
