using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Routing;
using Polly.CircuitBreaker;

namespace Gateway.Aspire.Router.Tests.Routing;

public sealed class TargetHealthTests
{
    private static readonly AttemptOutcome s_failure = new(AttemptKind.Failed, 500, new MappedError(502, "upstream_error", []));
    private static readonly AttemptOutcome s_rejected = new(AttemptKind.Rejected, 400, new MappedError(400, "invalid_request_error", []));

    private static (RoutingTestRules Rules, TargetHealth Health) Create()
    {
        var rules = new RoutingTestRules("""
            type: gateway-load-balancing-config
            rules: [{ id: r, type: priority-based-routing, when: { models: [r] }, load_balance_targets: [{ target: a/m }] }]
            """);
        return (rules, rules.Health["a/m"]);
    }

    private static ValueTask<AttemptOutcome?> Run(TargetHealth health, AttemptOutcome outcome, Action? onCall = null) =>
        health.ExecuteAsync(() =>
        {
            onCall?.Invoke();
            return ValueTask.FromResult(outcome);
        }, CancellationToken.None);

    [Fact]
    public async Task Opens_after_five_failures_skips_while_open_then_one_probe_closes_it()
    {
        var (rules, health) = Create();
        for (var i = 0; i < 4; i++)
        {
            await Run(health, s_failure);
        }

        Assert.Equal(CircuitState.Closed, health.Circuit);
        await Run(health, s_failure);
        Assert.Equal(CircuitState.Open, health.Circuit);
        Assert.False(health.IsAvailable);

        var called = false;
        Assert.Null(await Run(health, AttemptOutcome.Success, () => called = true));
        Assert.False(called);

        // The break (60 s by default) passes on the fake clock: the target is offered again and the
        // next attempt is the single half-open probe.
        rules.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(health.IsAvailable);
        rules.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(health.IsAvailable);

        var release = new TaskCompletionSource<AttemptOutcome>();
        var probe = health.ExecuteAsync(() => new ValueTask<AttemptOutcome>(release.Task), CancellationToken.None);
        Assert.Equal(CircuitState.HalfOpen, health.Circuit);
        Assert.Null(await Run(health, AttemptOutcome.Success)); // only one probe at a time
        release.SetResult(AttemptOutcome.Success);
        Assert.Equal(AttemptKind.Succeeded, (await probe)?.Kind);
        Assert.Equal(CircuitState.Closed, health.Circuit);
        Assert.Equal((0L, 5L), (health.Counts.ConsecutiveFailures, health.Counts.Failures));
    }

    [Fact]
    public async Task A_failed_probe_opens_the_circuit_again()
    {
        var (rules, health) = Create();
        for (var i = 0; i < 5; i++)
        {
            await Run(health, s_failure);
        }

        rules.Time.Advance(TimeSpan.FromSeconds(60));
        await Run(health, s_failure);

        Assert.Equal(CircuitState.Open, health.Circuit);
        Assert.False(health.IsAvailable);
    }

    [Fact]
    public async Task Rejected_requests_and_interleaved_successes_do_not_open_it()
    {
        var (_, health) = Create();
        for (var i = 0; i < 10; i++)
        {
            await Run(health, s_rejected);
        }

        for (var i = 0; i < 4; i++)
        {
            await Run(health, s_failure);
        }

        await Run(health, AttemptOutcome.Success);
        await Run(health, s_failure);

        Assert.Equal(CircuitState.Closed, health.Circuit);
        Assert.Equal(1L, health.Counts.ConsecutiveFailures);
    }
}
