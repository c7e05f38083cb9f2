using Gateway.Aspire.Guardrails.CustomRules;

namespace Gateway.Aspire.Guardrails.Tests.CustomRules;

/// <summary>Deny lists: regular expressions, keywords, allow-lists, and their cost on hostile input.</summary>
public sealed class DenyListTests
{
    private static DenyList List(string[] patterns, string[]? keywords = null, string[]? allow = null) => new(
        [.. patterns.Select(DenyList.CompilePattern), .. keywords is null ? [] : new[] { DenyList.CompileKeywords(keywords) }],
        [.. (allow ?? []).Select(DenyList.CompilePattern)]);

    [Fact]
    public void Pattern_FindsEachMatchWithItsSpan()
    {
        var text = "Should I buy the stock now? Or buy more stock later?";

        var matches = List([@"(?i)\bbuy\b.*?\bstock"]).Find(text);

        Assert.Equal(2, matches.Count);
        Assert.Equal("buy the stock", text.Substring(matches[0].Start, matches[0].Length));
    }

    [Fact]
    public void Keywords_AreWholeWordsAndCaseInsensitive()
    {
        var list = List([], keywords: ["Project Falcon", "c++", "acme"]);

        Assert.Single(list.Find("status of PROJECT   FALCON?"));
        Assert.Single(list.Find("We use C++ here."));
        Assert.Single(list.Find("ACME's numbers"));
        Assert.Empty(list.Find("projectfalcon, acmecorp, falcon project"));
    }

    [Fact]
    public void AllowList_SuppressesMatchesThatOverlapAnAllowedSpan_Only()
    {
        var list = List([], keywords: ["falcon"], allow: ["(?i)falcon heavy", "(?i)peregrine falcon"]);

        Assert.Empty(list.Find("The Falcon Heavy launch and a peregrine falcon."));
        Assert.Single(list.Find("The Falcon Heavy launch and the secret Falcon plan."));
    }

    [Fact]
    public void EmptyMatches_DenyNothing() => Assert.Empty(List(["x*"]).Find("abc"));

    [Fact]
    public void Patterns_RunInLinearTime_OnAMegabyteOfHostileInput()
    {
        // (a+)+$ is the textbook catastrophic-backtracking pattern; the non-backtracking engine
        // answers in one pass. Under a backtracking engine this call would not return.
        var list = List(["(a+)+$", @"(?i)\bbuy\b.*\bstock"], keywords: ["falcon"]);
        var hostile = new string('a', 1 << 20) + "!";

        Assert.Empty(list.Find(hostile));
        Assert.Empty(list.Find(string.Concat(Enumerable.Repeat("buy ", 250_000))));
    }

    [Theory]
    [InlineData("secret(?=s)")]
    [InlineData(@"(\w)\1")]
    [InlineData("(?>atomic)")]
    public void Patterns_ThatNeedBacktracking_AreRefused(string pattern) =>
        Assert.Contains("linear time", Assert.Throws<ArgumentException>(() => DenyList.CompilePattern(pattern)).Message);
}
