using Gateway.Aspire.Guardrails.Checks;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Guardrails.Rules;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static Gateway.Aspire.Guardrails.Tests.Checks.RulesHostFixture;

namespace Gateway.Aspire.Guardrails.Tests.Checks;

/// <summary>A check that throws: its rule's on_error decides (fail_closed refuses the call, fail_open reports and goes on).</summary>
public sealed class OnErrorTests : IAsyncLifetime
{
    private const string Config = """
        type: gateway-guardrails-config
        rules:
          - id: closed
            when: { subjects: ["virtualaccount:closed"] }
            input: [{ check: moderation, action: block }]
            output: [{ check: moderation, action: block }]
          - id: open
            when: { subjects: ["virtualaccount:open"] }
            input:
              - { check: moderation, action: block }
              - { check: deny_list, action: block, keywords: [forbidden] }
            output: [{ check: moderation, action: block }]
            on_error: fail_open
        """;

    private GuardrailsTestHost? _host;

    private Grpc.Guardrails.GuardrailsClient Guardrails => _host!.Guardrails;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() =>
        _host = await GuardrailsTestHost.StartAsync(Config, builder => builder.Services.AddSingleton<IContentCheck, BrokenModeration>());

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task FailClosed_RefusesTheCall_NamingTheGuardrail()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await Guardrails.CheckInputAsync(Input("virtualaccount:closed", Chat("hello")), cancellationToken: Token));

        Assert.Equal(StatusCode.Internal, e.StatusCode);
        Assert.Contains("'closed/moderation'", e.Status.Detail);
        Assert.DoesNotContain("hello", e.Status.Detail);
    }

    [Fact]
    public async Task FailOpen_SkipsTheCheck_ReportsIt_AndRunsTheOthers()
    {
        var allowed = await Guardrails.CheckInputAsync(Input("virtualaccount:open", Chat("hello")), cancellationToken: Token);
        var blocked = await Guardrails.CheckInputAsync(Input("virtualaccount:open", Chat("this is forbidden")), cancellationToken: Token);

        Assert.Equal(Verdict.Allow, allowed.Verdict);
        var finding = Assert.Single(allowed.Findings);
        Assert.Equal(("open", "moderation", "error", "fail_open"), (finding.Rule, finding.Check, finding.Category, finding.Action));
        Assert.Equal(Verdict.Block, blocked.Verdict);
        Assert.Equal("open/deny_list", blocked.Guardrail);
    }

    [Fact]
    public async Task InAStream_FailClosedEndsTheCall_FailOpenReportsOnTheVerdict()
    {
        using var closed = Guardrails.CheckStream(cancellationToken: Token);
        await closed.RequestStream.WriteAsync(Context("virtualaccount:closed"), Token);
        await closed.RequestStream.WriteAsync(new StreamChunk { Delta = new TextDelta { Text = "hi" } }, Token);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await closed.ResponseStream.MoveNext(Token));

        using var open = Guardrails.CheckStream(cancellationToken: Token);
        await open.RequestStream.WriteAsync(Context("virtualaccount:open"), Token);
        await open.RequestStream.WriteAsync(new StreamChunk { Delta = new TextDelta { Text = "hi" } }, Token);
        Assert.True(await open.ResponseStream.MoveNext(Token));

        Assert.Equal(StatusCode.Internal, e.StatusCode);
        Assert.Equal("hi", open.ResponseStream.Current.Text);
        Assert.Contains(open.ResponseStream.Current.Findings, f => f is { Rule: "open", Action: "fail_open" });
    }

    private static StreamChunk Context(string subject)
    {
        var context = new CheckOutputRequest { RequestId = "r", Model = "m", Api = "/v1/chat/completions" };
        context.Subjects.Add(subject);
        return new StreamChunk { Context = context };
    }

    /// <summary>A moderation check that always fails, registered after the real one (the last registration of a kind wins).</summary>
    private sealed class BrokenModeration : IContentCheck
    {
        public CheckKind Kind => CheckKind.Moderation;

        public IReadOnlyList<CheckHit> Find(GuardrailCheck check, string text, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("classifier unavailable");
    }
}
