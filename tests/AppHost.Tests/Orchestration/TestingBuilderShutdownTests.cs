using Gateway.Aspire.Testing;

namespace Gateway.Aspire.AppHost.Tests.Orchestration;

/// <summary>The testing builder's application stops every child it started.</summary>
public sealed class TestingBuilderShutdownTests
{
    [Fact]
    public async Task Dispose_stops_every_child_process()
    {
        var fixture = new GatewayAppFixture();
        await fixture.InitializeAsync();
        var children = fixture.App.ChildProcessIds;
        // redis, postgres, policy, accounting, guardrails, mock upstream, router
        Assert.True(children.Count >= 7, $"expected 7 children, saw {children.Count}");
        Assert.All(children, pid => Assert.True(Directory.Exists($"/proc/{pid}")));

        await fixture.DisposeAsync();

        Assert.All(children, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"process {pid} is still running"));
    }
}
