using Polly;
using Polly.CircuitBreaker;

namespace Gateway.Aspire.Router.Routing;

/// <summary>
/// One target's health: its circuit breaker (Polly, on the injected clock), a Retry-After
/// cool-down, and counters for metrics and <c>GET /admin/v1/targets</c>.
/// </summary>
/// <remarks>
/// Each attempt runs inside the breaker (<see cref="ExecuteAsync"/>), streaming included,
/// so a stream that breaks mid-way counts as a failure and a half-open circuit lets exactly one
/// probe through until it completes. Polly counts failures as a ratio over a sampling window with
/// a minimum throughput; a ratio of 1.0 with a throughput of N is "N failures with no success".
/// </remarks>
internal sealed class TargetHealth
{
    private readonly ResiliencePipeline<AttemptOutcome> _breaker;
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly TimeProvider _time;
    private long _blockedUntilTicks;
    private long _coolDownUntilTicks;
    private long _requests;
    private long _failures;
    private long _retries;
    private long _fallbacks;
    private long _consecutiveFailures;

    /// <summary>Creates the health of target <paramref name="id"/>.</summary>
    public TargetHealth(string id, string account, RoutingOptions options, TimeProvider time, RoutingMetrics metrics)
    {
        Id = id;
        Account = account;
        _time = time;
        _breaker = new ResiliencePipelineBuilder<AttemptOutcome> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<AttemptOutcome>
            {
                FailureRatio = options.CircuitFailureRatio,
                MinimumThroughput = Math.Max(2, options.CircuitFailureThreshold),
                SamplingDuration = options.CircuitSamplingDuration,
                BreakDuration = options.CircuitBreakDuration,
                StateProvider = _state,
                // Exceptions that reach here are the client going away: not the target's fault.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is null && args.Outcome.Result.CountsAsFailure),
                OnOpened = args =>
                {
                    Interlocked.Exchange(ref _blockedUntilTicks, (time.GetUtcNow() + args.BreakDuration).UtcTicks);
                    metrics.CircuitOpened(Id);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>The target id, <c>&lt;account&gt;/&lt;model&gt;</c>.</summary>
    public string Id { get; }

    /// <summary>The provider account of the target.</summary>
    public string Account { get; }

    /// <summary>The circuit's state as Polly last recorded it.</summary>
    public CircuitState Circuit => _state.CircuitState;

    /// <summary>Attempts made, failures among them, retries and fallbacks away from this target.</summary>
    public (long Requests, long Failures, long Retries, long Fallbacks, long ConsecutiveFailures) Counts =>
        (Interlocked.Read(ref _requests), Interlocked.Read(ref _failures), Interlocked.Read(ref _retries), Interlocked.Read(ref _fallbacks), Interlocked.Read(ref _consecutiveFailures));

    /// <summary>Until when an upstream Retry-After keeps the target out of rotation, or null.</summary>
    public DateTimeOffset? CoolingDownUntil =>
        Interlocked.Read(ref _coolDownUntilTicks) is var ticks && ticks > _time.GetUtcNow().UtcTicks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>
    /// Whether routing should pick this target now: not cooling down after a 429, and its circuit
    /// not open (an open circuit whose break has passed is available: the next attempt is its probe).
    /// </summary>
    public bool IsAvailable
    {
        get
        {
            var now = _time.GetUtcNow().UtcTicks;
            if (Interlocked.Read(ref _coolDownUntilTicks) > now)
            {
                return false;
            }

            return _state.CircuitState switch
            {
                CircuitState.Isolated => false,
                CircuitState.Open => Interlocked.Read(ref _blockedUntilTicks) <= now,
                _ => true,
            };
        }
    }

    /// <summary>Takes the target out of rotation for <paramref name="duration"/> (an upstream Retry-After).</summary>
    public void CoolDown(TimeSpan duration) => Interlocked.Exchange(ref _coolDownUntilTicks, (_time.GetUtcNow() + duration).UtcTicks);

    /// <summary>Counts a retry on this target.</summary>
    public void CountRetry() => Interlocked.Increment(ref _retries);

    /// <summary>Counts a fallback away from this target.</summary>
    public void CountFallback() => Interlocked.Increment(ref _fallbacks);

    /// <summary>
    /// Runs one attempt through the breaker. Returns null without calling <paramref name="attempt"/>
    /// when the circuit is open (or half-open with its probe under way).
    /// </summary>
    public async ValueTask<AttemptOutcome?> ExecuteAsync(Func<ValueTask<AttemptOutcome>> attempt, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var outcome = await _breaker.ExecuteOutcomeAsync(
                static async (_, s) =>
                {
                    try
                    {
                        return Outcome.FromResult(await s());
                    }
                    catch (Exception e)
                    {
                        return Outcome.FromException<AttemptOutcome>(e);
                    }
                },
                context,
                attempt);
            if (outcome.Exception is BrokenCircuitException)
            {
                return null;
            }

            outcome.ThrowIfException();
            var result = outcome.Result;
            Interlocked.Increment(ref _requests);
            if (result.CountsAsFailure)
            {
                Interlocked.Increment(ref _failures);
                Interlocked.Increment(ref _consecutiveFailures);
            }
            else if (result.Kind == AttemptKind.Succeeded)
            {
                Interlocked.Exchange(ref _consecutiveFailures, 0);
            }

            return result;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
