using Grpc.Core;
using Microsoft.Extensions.Hosting;

namespace Gateway.Aspire.ServiceDefaults.Batching;

/// <summary>
/// Sends what a <see cref="BatchQueue{T}"/> holds in batches (up to <c>batchSize</c> items, or what
/// arrived within <c>batchDelay</c> of the first), one batch at a time, and drains the queue on a
/// graceful stop within the host's shutdown timeout. Used by the router's usage records (accounting)
/// and settlements (policy), and by every service's gateway events (<c>GatewayEventPublisher</c>, Redis).
/// </summary>
/// <remarks>
/// On shutdown the web server stops first (ASP.NET Core registers it as the last hosted service, so
/// it stops first), then this drains the queue. Not a BackgroundService: that starts ExecuteAsync
/// through Task.Run with the stopping token, so a stop that comes before the task is scheduled
/// cancels it unrun and the queue is never drained. This loop always runs, and drains on stop.
/// </remarks>
/// <typeparam name="T">What is queued.</typeparam>
public abstract class BatchShipper<T>(BatchQueue<T> queue, int batchSize, TimeSpan batchDelay, TimeProvider time) : IHostedService, IDisposable
{
    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource _shutdownDeadline = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    /// <summary>The clock of backoffs (and of the derived shipper's own deadlines).</summary>
    protected TimeProvider Time => time;

    /// <summary>Cancelled when the host's shutdown timeout runs out: what is not sent by then is lost.</summary>
    protected CancellationToken ShutdownDeadline => _shutdownDeadline.Token;

    /// <inheritdoc />
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

    /// <summary>Sends one batch, retrying as it sees fit (<see cref="RetryAsync"/>); the list is reused after it returns.</summary>
    protected abstract Task SendAsync(IReadOnlyList<T> batch);

    /// <summary>Reports the items still unsent when the shutdown deadline ran out.</summary>
    protected abstract void LostAtShutdown(int count);

    /// <summary>
    /// Calls <paramref name="send"/> until it succeeds, with exponential backoff (100 ms doubling to 5 s)
    /// between failures, as long as <paramref name="retry"/> says so for the failure and the backoff
    /// about to be waited. False when <paramref name="retry"/> gave up. At the shutdown deadline it
    /// throws <see cref="OperationCanceledException"/>: the loop counts what is lost.
    /// </summary>
    protected async Task<bool> RetryAsync(Func<CancellationToken, Task> send, Func<RpcException, TimeSpan, bool> retry)
    {
        var delay = s_firstBackoff;
        while (true)
        {
            try
            {
                await send(_shutdownDeadline.Token);
                return true;
            }
            catch (RpcException e) when (!_shutdownDeadline.IsCancellationRequested)
            {
                if (!retry(e, delay))
                {
                    return false;
                }
            }
            catch (RpcException) when (_shutdownDeadline.IsCancellationRequested)
            {
                // gRPC reports its own cancellation as an RpcException; the loop counts the loss.
                throw new OperationCanceledException(_shutdownDeadline.Token);
            }

            await Task.Delay(delay, time, _shutdownDeadline.Token);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, s_maxBackoff.Ticks));
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var batch = new List<T>(batchSize);
        try
        {
            // Not stoppingToken: on shutdown the loop keeps going until the completed queue is empty.
            while (await queue.Reader.WaitToReadAsync(_shutdownDeadline.Token))
            {
                await FillAsync(batch, stoppingToken);
                await SendAsync(batch);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (_shutdownDeadline.IsCancellationRequested)
        {
            var lost = batch.Count;
            while (queue.Reader.TryRead(out _))
            {
                lost++;
            }

            if (lost > 0)
            {
                LostAtShutdown(lost);
            }
        }
    }

    private async Task FillAsync(List<T> batch, CancellationToken stoppingToken)
    {
        var reader = queue.Reader;
        while (batch.Count < batchSize && reader.TryRead(out var item))
        {
            batch.Add(item);
        }

        if (batch.Count >= batchSize || stoppingToken.IsCancellationRequested)
        {
            return;
        }

        // Linger briefly so a busy router sends few large batches instead of many small ones.
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        linger.CancelAfter(batchDelay);
        try
        {
            while (batch.Count < batchSize && await reader.WaitToReadAsync(linger.Token))
            {
                while (batch.Count < batchSize && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
            }
        }
        catch (OperationCanceledException) when (linger.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _shutdownDeadline.Dispose();
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}
