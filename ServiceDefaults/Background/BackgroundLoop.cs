using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.ServiceDefaults.Background;

/// <summary>
/// A hosted service that runs <see cref="RunIterationAsync"/> every <see cref="Interval"/> until the
/// host stops. An iteration that throws anything but the stop is logged and the loop goes on after a
/// backoff: <c>min(Interval, 1 s)</c> doubling per failure in a row, up to <c>max(Interval, 1 min)</c>.
/// Only <see cref="StopAsync"/> (or disposal) ends it, and it never fails the host.
/// </summary>
/// <remarks>
/// Not a <see cref="BackgroundService"/>, on purpose. In .NET 10 a BackgroundService runs
/// <c>ExecuteAsync</c> through <c>Task.Run</c> with its stopping token, and the host reports an execute
/// task that ends cancelled or faulted while <c>ApplicationStopping</c> is not set as "BackgroundService
/// failed" and, with the default <see cref="BackgroundServiceExceptionBehavior.StopHost"/>, stops the
/// process. That stopping token is also cancelled by <c>Dispose</c>, which the host does without any stop
/// when its start fails (Kestrel cannot bind its port, say): the failed start then shows up as a
/// TaskCanceledException without a frame of ours, which hid the real error. Here the loop runs on a task
/// started without a token, so it always runs, and it ends by returning, never cancelled or faulted.
/// </remarks>
public abstract class BackgroundLoop : IHostedService, IDisposable
{
    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan s_longestDelay = TimeSpan.FromDays(30);

    private readonly CancellationTokenSource _stopping = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private Task? _loop;
    private int _consecutiveFailures;
    private long _iterations;

    /// <summary>Creates the loop; <paramref name="time"/> paces it (tests pass a fake clock).</summary>
    protected BackgroundLoop(TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
    }

    /// <summary>The clock that paces the loop; derived loops read the time from it too.</summary>
    protected TimeProvider Time => _time;

    /// <summary>The wait after an iteration that succeeded.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>The wait before the first iteration. Default: none, the first runs at start.</summary>
    protected virtual TimeSpan FirstDelay => TimeSpan.Zero;

    /// <summary>Iterations that failed in a row so far (0 after one that succeeded).</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>Iterations that completed without throwing since start.</summary>
    public long Iterations => Interlocked.Read(ref _iterations);

    /// <summary>
    /// One pass of the work. Failures the caller expects (a database or Redis outage with a message of
    /// its own) are best handled inside; anything thrown here is logged as unexpected and retried.
    /// </summary>
    protected abstract Task RunIterationAsync(CancellationToken stoppingToken);

    /// <summary>Runs once after the loop ended on stop, e.g. to wait for work an iteration handed off. Default: nothing.</summary>
    protected virtual Task OnStoppedAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public virtual Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public virtual async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // A host that failed to start disposes without stopping: the loop ends quietly. The source is
        // left to the collector, since the loop may still be reading its token.
        _stopping.Cancel();
        GC.SuppressFinalize(this);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var delay = FirstDelay;
        while (true)
        {
            try
            {
                await WaitAsync(delay, stopping);

                await RunIterationAsync(stopping);
                Volatile.Write(ref _consecutiveFailures, 0);
                Interlocked.Increment(ref _iterations);
                delay = Interval;
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                // The stop, or its consequence: a host that failed to start disposes the services (the
                // database's data source, the Redis connection) while an iteration may still use them.
                break;
            }
            catch (Exception e)
            {
                // Includes a TaskCanceledException that is not our stop (an HTTP or command timeout).
                var failures = Interlocked.Increment(ref _consecutiveFailures);
                delay = Backoff(Interval, failures);
                BackgroundLoopLog.IterationFailed(_logger, GetType().Name, failures, delay.TotalSeconds, e);
            }
        }

        try
        {
            await OnStoppedAsync();
        }
        catch (Exception e)
        {
            BackgroundLoopLog.StopFailed(_logger, GetType().Name, e);
        }
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken stopping)
    {
        // Task.Delay refuses more than about 49 days (a uint of milliseconds); longer intervals (a yearly
        // pass, a test that keeps the loop out of its way) wait in steps.
        while (delay > TimeSpan.Zero)
        {
            var step = delay < s_longestDelay ? delay : s_longestDelay;
            await Task.Delay(step, _time, stopping);
            delay -= step;
        }
    }

    /// <summary>The wait after the <paramref name="failures"/>-th failed iteration in a row.</summary>
    public static TimeSpan Backoff(TimeSpan interval, int failures)
    {
        // A loop that waits on something else between iterations (Interval zero) still backs off from 1 s.
        var first = interval > TimeSpan.Zero && interval < s_firstBackoff ? interval : s_firstBackoff;
        var max = interval > s_maxBackoff ? interval : s_maxBackoff;
        var ticks = first.Ticks << Math.Min(failures - 1, 30);
        return ticks <= 0 || ticks > max.Ticks ? max : TimeSpan.FromTicks(ticks);
    }
}
