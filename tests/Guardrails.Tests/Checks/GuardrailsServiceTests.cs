using Gateway.Aspire.Guardrails.Grpc;
using Google.Protobuf;
using Grpc.Core;

namespace Gateway.Aspire.Guardrails.Tests.Checks;

/// <summary>Guardrails.CheckInput over real gRPC.</summary>
public sealed class GuardrailsServiceTests : IAsyncLifetime
{
    private GuardrailsTestHost? _host;

    private Grpc.Guardrails.GuardrailsClient Guardrails => _host!.Guardrails;

    public async ValueTask InitializeAsync() => _host = await GuardrailsTestHost.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task CheckInput_WithoutRules_AllowsTheBodyUnchanged()
    {
        var request = new CheckRequest
        {
            RequestId = "req-1",
            TokenId = "0196f6c0-0000-7000-8000-000000000001",
            Model = "mock/gpt-4o-mini",
            Api = "/v1/chat/completions",
            Body = ByteString.CopyFromUtf8("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"""),
        };

        var reply = await Guardrails.CheckInputAsync(request, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(Verdict.Allow, reply.Verdict);
        Assert.True(reply.Body.IsEmpty); // no replacement body: forward the original
        Assert.Equal("", reply.Guardrail);
    }

    [Fact]
    public async Task CheckInput_WithoutBody_IsInvalidArgument()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Guardrails.CheckInputAsync(
            new CheckRequest { RequestId = "req-2", Model = "mock/gpt-4o-mini", Api = "/v1/chat/completions" },
            cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task Health_IsReady()
    {
        using var http = new HttpClient();

        var response = await http.GetAsync(_host!.HttpUrl + "/health", TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }
}
