using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Guardrails.Rules;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Gateway.Aspire.Guardrails.Tests.Checks.RulesHostFixture;

namespace Gateway.Aspire.Guardrails.Tests.Rules;

/// <summary>Guardrails rules follow the live configuration (Redis hash + announcement) on two replicas sharing Redis.</summary>
public sealed class LiveGuardrailRulesTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string FileYaml = """
        type: gateway-guardrails-config
        name: file
        rules:
          - id: pii
            input:
              - { check: pii, action: mask, types: [email] }
        """;

    private const string DenyBluebird = """
        type: gateway-guardrails-config
        name: live
        rules:
          - id: codewords
            input:
              - { check: deny_list, action: block, name: codewords, keywords: [bluebird] }
        """;

    private static readonly string s_prompt = Chat("Tell me about project bluebird");

    private readonly List<GuardrailsTestHost> _hosts = [];
    private string _redis = "";
    private LiveConfigWriter? _writer;

    public async ValueTask InitializeAsync()
    {
        _redis = redis.NextDatabase();
        _writer = await LiveConfigWriter.ConnectAsync(_redis);
        await StartReplicaAsync();
        await StartReplicaAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }
    }

    [Fact]
    public async Task PublishedDenyList_BlocksOnBothReplicas_AndALateReplicaStartsWithIt()
    {
        Assert.Equal(Verdict.Allow, (await CheckAsync(_hosts[0])).Verdict);

        await _writer!.PublishAsync(1, DenyBluebird);

        var first = await LiveConfigWriter.UntilAsync(async () => (await CheckAsync(_hosts[0])).Verdict == Verdict.Block, "first replica blocks bluebird");
        var second = await LiveConfigWriter.UntilAsync(async () => (await CheckAsync(_hosts[1])).Verdict == Verdict.Block, "second replica blocks bluebird");
        TestContext.Current.TestOutputHelper?.WriteLine($"reload observed after {first.TotalMilliseconds:0} ms and {second.TotalMilliseconds:0} ms");
        Assert.Equal("codewords/codewords", (await CheckAsync(_hosts[1])).Guardrail);

        var late = await StartReplicaAsync();
        Assert.Equal(Verdict.Block, (await CheckAsync(late)).Verdict);
    }

    [Fact]
    public async Task InvalidPublish_KeepsTheRulesInForce()
    {
        await _writer!.PublishAsync(1, DenyBluebird);
        await LiveConfigWriter.UntilAsync(() => Task.FromResult(_hosts.All(h => Live(h).Version == 1)), "both replicas on version 1");

        await _writer.PublishAsync(2, DenyBluebird.Replace("action: block", "action: explode", StringComparison.Ordinal));
        await LiveConfigWriter.UntilAsync(() => Task.FromResult(_hosts.All(h => Subscriber(h).RejectedVersion == 2)), "both replicas reject version 2");

        Assert.All(_hosts, h => Assert.Equal(1, Live(h).Version));
        Assert.Equal(Verdict.Block, (await CheckAsync(_hosts[0])).Verdict);
        Assert.Equal(Verdict.Block, (await CheckAsync(_hosts[1])).Verdict);
    }

    private async Task<GuardrailsTestHost> StartReplicaAsync()
    {
        var host = await GuardrailsTestHost.StartAsync(FileYaml, redis: _redis);
        _hosts.Add(host);
        return host;
    }

    private static Task<CheckReply> CheckAsync(GuardrailsTestHost host) =>
        host.Guardrails.CheckInputAsync(Input("virtualaccount:app", s_prompt), cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;

    private static LiveConfig<GuardrailRules> Live(GuardrailsTestHost host) => host.Services.GetRequiredService<LiveConfig<GuardrailRules>>();

    private static LiveConfigSubscriber<GuardrailRules> Subscriber(GuardrailsTestHost host) =>
        host.Services.GetRequiredService<LiveConfigSubscriber<GuardrailRules>>();
}
