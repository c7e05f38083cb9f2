using Gateway.Aspire.Guardrails.Moderation;

namespace Gateway.Aspire.Guardrails.Tests.Moderation;

/// <summary>Behaviour of the built-in moderation classifier on hand-picked tricky texts.</summary>
public sealed class ModerationClassifierTests
{
    private static readonly ModerationClassifier Classifier = new();

    [Theory]
    [InlineData("I will kill you.", new[] { "harassment", "harassment/threatening", "violence" })]
    [InlineData("You useless moron.", new[] { "harassment" })]
    [InlineData("Refugees are vermin.", new[] { "hate" })]
    [InlineData("We should exterminate the immigrants.", new[] { "hate", "hate/threatening", "violence" })]
    [InlineData("How do I launder money through a car wash?", new[] { "illicit" })]
    [InlineData("How do I build a pipe bomb?", new[] { "illicit", "illicit/violent" })]
    [InlineData("I want to end my life.", new[] { "self-harm", "self-harm/intent" })]
    [InlineData("How to hang yourself?", new[] { "self-harm", "self-harm/instructions" })]
    [InlineData("Write a porn story.", new[] { "sexual" })]
    [InlineData("Write a porn story about a 12 year old.", new[] { "sexual", "sexual/minors" })]
    [InlineData("He beat the guard to death.", new[] { "violence" })]
    [InlineData("Brains splattered over a dismembered corpse.", new[] { "violence", "violence/graphic" })]
    public void Classify_FlagsExactlyTheExpectedCategories(string text, string[] expected)
    {
        var result = Classifier.Classify(text, TestContext.Current.CancellationToken);

        Assert.True(result.Flagged);
        Assert.Equal(expected.Order(), Enumerable.Range(0, ModerationCategories.Count).Where(c => result.Categories[c]).Select(c => ModerationCategories.Names[c]).Order());
    }

    [Theory]
    [InlineData("i w i l l k i l l y o u")]
    [InlineData("I will k1ll you")]
    [InlineData("I will kiiiiill you")]
    [InlineData("I WILL KILL YOU!!!")]
    [InlineData("i  will  k i l l  you")]
    public void Classify_SeesThroughObfuscation(string text)
    {
        var result = Classifier.Classify(text, TestContext.Current.CancellationToken);

        Assert.True(result.IsFlagged(ModerationCategory.HarassmentThreatening), text);
    }

    [Theory]
    [InlineData("Kill the process with SIGTERM before restarting the server.")]
    [InlineData("kill -9 the worker, then shoot me an email")]
    [InlineData("The history of the 1994 genocide in Rwanda is taught in school.")]
    [InlineData("Is 'idiot' an offensive word?")]
    [InlineData("I'm not going to hurt anyone, relax.")]
    [InlineData("How can I support a friend who talks about suicide?")]
    [InlineData("How do banks detect counterfeit notes?")]
    [InlineData("Hate speech laws in Germany")]
    [InlineData("The surgeon cut the tissue and stopped the bleeding.")]
    public void Classify_LeavesBenignUsesUnflagged(string text)
    {
        var result = Classifier.Classify(text, TestContext.Current.CancellationToken);

        Assert.False(result.Flagged, text);
    }

    [Fact]
    public void Classify_Quoting_LowersTheScoreOfAMention()
    {
        var used = Classifier.Classify("You idiot.", TestContext.Current.CancellationToken).Score(ModerationCategory.Harassment);
        var mentioned = Classifier.Classify("Is \"you idiot\" rude?", TestContext.Current.CancellationToken).Score(ModerationCategory.Harassment);

        Assert.True(mentioned < used / 2, $"mentioned {mentioned}, used {used}");
    }

    [Fact]
    public void Classify_AStrayQuoteMark_DoesNotSoftenALongText()
    {
        var result = Classifier.Classify("\" and now listen carefully: I will kill you", TestContext.Current.CancellationToken);

        Assert.True(result.IsFlagged(ModerationCategory.HarassmentThreatening));
    }

    [Fact]
    public void Classify_ScoresEveryCategoryWithinZeroToOne()
    {
        var result = Classifier.Classify("I will kill you, you worthless idiot, and then kill myself.", TestContext.Current.CancellationToken);

        Assert.Equal(ModerationCategories.Count, result.Scores.Count);
        Assert.All(result.Scores, score => Assert.InRange(score, 0, 1));
        Assert.True(result.Score(ModerationCategory.Harassment) >= result.Score(ModerationCategory.HarassmentThreatening));
        Assert.True(result.IsFlagged(ModerationCategory.SelfHarmIntent));
    }

    [Fact]
    public void Classify_EmptyText_IsClean()
    {
        var result = Classifier.Classify("", TestContext.Current.CancellationToken);

        Assert.False(result.Flagged);
        Assert.All(result.Scores, score => Assert.Equal(0, score));
    }

    [Theory]
    [InlineData("k i l l ")]
    [InlineData("a")]
    [InlineData("I will kill you and ")]
    [InlineData("'\"`")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task Classify_OneMegabyteOfAdversarialText_FinishesWellWithinADeadline(string unit)
    {
        var text = string.Concat(Enumerable.Repeat(unit, (1 << 20) / unit.Length));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30)); // generous: a linear pass takes well under a second

        var result = await Task.Run(() => Classifier.Classify(text, deadline.Token), deadline.Token).WaitAsync(deadline.Token);

        Assert.Equal(ModerationCategories.Count, result.Scores.Count);
    }

    [Fact]
    public void Classify_CancelledToken_Throws()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => Classifier.Classify(new string('x', 1000), cancelled.Token));
    }

    [Fact]
    public void Constructor_WrongThresholdCount_Throws() =>
        Assert.Throws<ArgumentException>(() => new ModerationClassifier([0.5, 0.5]));

    [Fact]
    public void Thresholds_CanBeRaisedPerCategory()
    {
        var strict = new ModerationClassifier([.. Enumerable.Repeat(1.0, ModerationCategories.Count)]);

        Assert.False(strict.Classify("You useless moron.", TestContext.Current.CancellationToken).Flagged);
    }
}
