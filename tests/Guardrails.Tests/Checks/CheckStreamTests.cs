using Gateway.Aspire.Guardrails.Grpc;
using Grpc.Core;

namespace Gateway.Aspire.Guardrails.Tests.Checks;

/// <summary>CheckStream over real gRPC: one verdict per delta or per batch, sliding windows across deltas, block mid-stream, PII across deltas.</summary>
public sealed class CheckStreamTests(RulesHostFixture fixture) : IClassFixture<RulesHostFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DenyPatternSplitAcrossDeltas_BlocksOnTheDeltaThatCompletesIt_AndEndsTheCall()
    {
        using var call = Start("virtualaccount:finance");

        var first = await Send(call, 0, "The plan for Proj");
        var second = await Send(call, 0, "ect Fal");
        var third = await Send(call, 0, "con is top secret.");

        Assert.Equal((Verdict.Allow, "The plan for Proj"), (first.Verdict, first.Text));
        Assert.Equal((Verdict.Allow, "ect Fal"), (second.Verdict, second.Text));
        Assert.Equal(Verdict.Block, third.Verdict);
        Assert.Equal("finance/secrets", third.Guardrail);
        Assert.Equal("secrets", third.Category);
        Assert.Equal("", third.Text); // the delta that completed the phrase is never released
        Assert.DoesNotContain("Falcon", third.Message);
        Assert.Contains(third.Findings, f => f is { Rule: "finance", Check: "secrets", Action: "block", Count: 1 });
        Assert.False(await call.ResponseStream.MoveNext(Token)); // block is terminal
    }

    [Fact]
    public async Task AllowListSpan_SplitAcrossDeltas_StillSuppressesTheMatch()
    {
        using var call = Start("virtualaccount:finance");

        var replies = new[] { await Send(call, 0, "Project Fal"), await Send(call, 0, "con Heavy launches today.", done: true) };
        await call.RequestStream.CompleteAsync();

        Assert.All(replies, reply => Assert.Equal(Verdict.Allow, reply.Verdict));
        Assert.Equal("Project Falcon Heavy launches today.", string.Concat(replies.Select(r => r.Text)));
        Assert.True(replies[1].Done);
        Assert.False(await call.ResponseStream.MoveNext(Token));
    }

    [Fact]
    public async Task Choices_AreCheckedIndependently_AndHalfCloseFlushesUnfinishedOnes()
    {
        using var call = Start("virtualaccount:finance");

        var a = await Send(call, 0, "Project ");
        var b = await Send(call, 1, "Falcon is a bird.");
        await call.RequestStream.CompleteAsync();
        var flushed = new List<StreamVerdict>();
        while (await call.ResponseStream.MoveNext(Token))
        {
            flushed.Add(call.ResponseStream.Current);
        }

        Assert.Equal(Verdict.Allow, a.Verdict);
        Assert.Equal(Verdict.Allow, b.Verdict); // "Project " was choice 0, "Falcon" choice 1
        Assert.Equal([0, 1], flushed.Select(v => v.Index).Order());
        Assert.All(flushed, v => Assert.True(v.Done));
    }

    [Fact]
    public async Task Pii_SplitAcrossDeltas_IsMaskedBeforeItIsReleased_AndPlaceholdersAreRestored()
    {
        using var call = Start("virtualaccount:pii", placeholders: new() { ["[EMAIL_1]"] = "jane@example.com" });

        var texts = new List<string>();
        foreach (var delta in new[] { "Sent to [EMA", "IL_1], cc bob@co", "rp.example. Done" })
        {
            texts.Add((await Send(call, 0, delta)).Text);
        }

        texts.Add((await Send(call, 0, "", done: true)).Text);
        await call.RequestStream.CompleteAsync();

        var emitted = string.Concat(texts);
        Assert.StartsWith("Sent to jane@example.com, cc [EMAIL_", emitted);
        Assert.EndsWith("]. Done", emitted);
        Assert.DoesNotContain("bob@", emitted);
        Assert.DoesNotContain(texts, text => text.Contains("bob", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutMatchingRules_EveryDeltaPassesAsItCame()
    {
        using var call = Start("virtualaccount:nobody");

        var reply = await Send(call, 0, "Project Falcon and jane@example.com");

        Assert.Equal((Verdict.Allow, "Project Falcon and jane@example.com"), (reply.Verdict, reply.Text));
        Assert.Empty(reply.Findings);
    }

    [Fact]
    public async Task Batch_IsCheckedTogether_ReleasedTextGoesWithTheChoicesLastDelta_AndHeldTextIsReported()
    {
        using var call = Start("virtualaccount:pii", placeholders: new() { ["[EMAIL_1]"] = "jane@example.com" });

        var first = await SendBatch(call, (0, "Sent to [EMA", false), (0, "IL_1], cc bob@co", false), (0, "rp.example. Done", false));
        var last = await SendBatch(call, (0, "", true));

        Assert.Equal(Verdict.Allow, first.Verdict);
        Assert.Equal(3, first.Texts.Count);
        // Shorter than the PII window: all of it is held back, as it came in, and said so.
        Assert.All(first.Texts, text => Assert.Equal("", text));
        Assert.Equal("Sent to [EMAIL_1], cc bob@corp.example. Done", first.Held[0]);
        var emitted = Assert.Single(last.Texts);
        Assert.StartsWith("Sent to jane@example.com, cc [EMAIL_", emitted);
        Assert.EndsWith("]. Done", emitted);
        Assert.Empty(last.Held);
        Assert.Contains(last.Findings, f => f is { Rule: "pii", Check: "pii", Category: "email", Action: "mask" });
    }

    [Fact]
    public async Task Batch_WithSeveralChoices_ReleasesEachChoiceOnItsOwnLastDelta()
    {
        using var call = Start("virtualaccount:finance");

        var reply = await SendBatch(call, (0, "Hello ", false), (1, "Bonjour ", false), (0, "world.", true), (1, "le monde.", false));

        Assert.Equal(["", "", "Hello world.", "Bonjour le monde."], reply.Texts);
    }

    [Fact]
    public async Task DenyPatternSplitAcrossBatches_Blocks_AndReleasesNothingOfTheBlockingBatch()
    {
        using var call = Start("virtualaccount:finance");

        var first = await SendBatch(call, (0, "The plan for Proj", false), (0, "ect Fal", false));
        var second = await SendBatch(call, (0, "con is ", false), (0, "top secret.", false));

        Assert.Equal(["", "The plan for Project Fal"], first.Texts);
        Assert.Equal(Verdict.Block, second.Verdict);
        Assert.Equal("finance/secrets", second.Guardrail);
        Assert.Empty(second.Texts);
        Assert.False(await call.ResponseStream.MoveNext(Token)); // block is terminal
    }

    [Fact]
    public async Task FirstMessageWithoutContext_IsInvalidArgument()
    {
        using var call = fixture.Guardrails.CheckStream(cancellationToken: Token);
        await call.RequestStream.WriteAsync(new StreamChunk { Delta = new TextDelta { Text = "hi" } }, Token);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(Token));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    private AsyncDuplexStreamingCall<StreamChunk, StreamVerdict> Start(string subject, Dictionary<string, string>? placeholders = null)
    {
        var call = fixture.Guardrails.CheckStream(cancellationToken: Token);
        var context = new CheckOutputRequest { RequestId = "req-stream", Model = "mock/gpt-4o-mini", Api = "/v1/chat/completions" };
        context.Subjects.Add(subject);
        context.Placeholders.Add(placeholders ?? []);
        call.RequestStream.WriteAsync(new StreamChunk { Context = context }, Token).GetAwaiter().GetResult();
        return call;
    }

    private static async Task<StreamVerdict> SendBatch(AsyncDuplexStreamingCall<StreamChunk, StreamVerdict> call, params (int Index, string Text, bool Done)[] deltas)
    {
        var batch = new DeltaBatch();
        batch.Deltas.Add(deltas.Select(d => new TextDelta { Index = d.Index, Text = d.Text, Done = d.Done }));
        await call.RequestStream.WriteAsync(new StreamChunk { Batch = batch }, Token);
        Assert.True(await call.ResponseStream.MoveNext(Token));
        return call.ResponseStream.Current;
    }

    private static async Task<StreamVerdict> Send(AsyncDuplexStreamingCall<StreamChunk, StreamVerdict> call, int index, string text, bool done = false)
    {
        await call.RequestStream.WriteAsync(new StreamChunk { Delta = new TextDelta { Index = index, Text = text, Done = done } }, Token);
        Assert.True(await call.ResponseStream.MoveNext(Token));
        return call.ResponseStream.Current;
    }
}
