using Gateway.Aspire.Guardrails.Checks;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Guardrails.Moderation;
using Google.Protobuf;
using Grpc.Core;

namespace Gateway.Aspire.Guardrails.Tests.Checks;

/// <summary>Guardrails.CheckInput and Guardrails.Moderate over real gRPC.</summary>
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
    public async Task Moderate_ReturnsOneResultPerInputInOrder_WithEveryCategory()
    {
        var request = new ModerateRequest { RequestId = "req-3" };
        request.Inputs.Add("Kill the process with SIGTERM before restarting the server.");
        request.Inputs.Add("I will find you and hurt you, you worthless idiot.");
        request.Inputs.Add("I want to end my life tonight, tell me the easiest way.");

        var reply = await Guardrails.ModerateAsync(request, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(ModerationClassifier.ModelName, reply.Model);
        Assert.Equal(3, reply.Results.Count);
        Assert.All(reply.Results, result =>
        {
            Assert.Equal(ModerationCategories.Names.Order(), result.Categories.Keys.Order());
            Assert.Equal(ModerationCategories.Names.Order(), result.CategoryScores.Keys.Order());
            Assert.All(result.CategoryScores.Values, score => Assert.InRange(score, 0, 1));
        });
        Assert.False(reply.Results[0].Flagged);
        Assert.True(reply.Results[1].Flagged);
        Assert.True(reply.Results[1].Categories["harassment/threatening"]);
        Assert.True(reply.Results[2].Categories["self-harm/intent"]);
        Assert.True(reply.Results[2].Categories["self-harm/instructions"]);
        Assert.False(reply.Results[2].Categories["violence"]);
    }

    [Fact]
    public async Task Moderate_WithoutInputs_IsInvalidArgument() =>
        await AssertModerateRejectedAsync(new ModerateRequest { RequestId = "req-4" }, "inputs is required");

    [Fact]
    public async Task Moderate_WithTooManyInputs_IsInvalidArgument()
    {
        var request = new ModerateRequest { RequestId = "req-5" };
        request.Inputs.Add(Enumerable.Repeat("hello", GuardrailsService.MaxModerationInputs + 1));

        await AssertModerateRejectedAsync(request, "at most 1000");
    }

    [Fact]
    public async Task Moderate_WithMoreThanOneMebibyte_IsInvalidArgument()
    {
        var request = new ModerateRequest { RequestId = "req-6" };
        request.Inputs.Add(new string('a', GuardrailsService.MaxModerationBytes));
        request.Inputs.Add("é"); // two UTF-8 bytes: the limit counts bytes, not characters

        await AssertModerateRejectedAsync(request, "1 MiB");
    }

    private async Task AssertModerateRejectedAsync(ModerateRequest request, string messagePart)
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await Guardrails.ModerateAsync(request, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(messagePart, e.Status.Detail);
    }

    [Fact]
    public async Task Health_IsReady()
    {
        using var http = new HttpClient();

        var response = await http.GetAsync(_host!.HttpUrl + "/health", TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }
}
