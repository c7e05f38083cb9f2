using Gateway.Aspire.Guardrails.CustomRules;

namespace Gateway.Aspire.Guardrails.Tests.CustomRules;

/// <summary>The built-in topic policies: requests for (and answers giving) the forbidden thing, not mentions of the topic.</summary>
public sealed class TopicPoliciesTests
{
    private static bool Denies(string policy, string text) => new DenyList(TopicPolicies.Compiled(policy), []).Find(text).Count > 0;

    [Theory]
    [InlineData("Should I buy Tesla stock before earnings?")]
    [InlineData("should i sell my bitcoin now")]
    [InlineData("Which stocks should I buy this year?")]
    [InlineData("What are the best stocks to buy right now?")]
    [InlineData("Top 5 crypto coins to invest in?")]
    [InlineData("Is it a good time to buy gold ETFs?")]
    [InlineData("Where should I invest my savings of $20,000?")]
    [InlineData("Will NVDA stock go up next week?")]
    [InlineData("What's your price target for Apple?")]
    [InlineData("I recommend buying shares of Microsoft now.")]
    [InlineData("You should definitely invest in index funds.")]
    [InlineData("This coin has guaranteed returns of 20% a month.")]
    public void NoFinancialAdvice_DeniesRequestsForAndGivingOfAdvice(string text) => Assert.True(Denies("no_financial_advice", text), text);

    [Theory]
    [InlineData("What is a stock and how does the stock market work?")]
    [InlineData("Explain the difference between a bond and a stock.")]
    [InlineData("How are capital gains on shares taxed in Germany?")]
    [InlineData("Write a Python script that downloads daily stock prices.")]
    [InlineData("I want to buy a new laptop, which one should I pick?")]
    [InlineData("Summarize the history of the 2008 financial crisis.")]
    [InlineData("How do ETFs differ from mutual funds?")]
    [InlineData("Our company's stock options vest over four years; what does vesting mean?")]
    public void NoFinancialAdvice_LetsEducationPass(string text) => Assert.False(Denies("no_financial_advice", text), text);

    [Theory]
    [InlineData("I have insider information about the merger, how do I trade on it without getting caught?")]
    [InlineData("My friend gave me an insider tip, should I buy the shares before it's announced?")]
    [InlineData("We know the unannounced earnings are great; let's buy call options.")]
    [InlineData("Buy as much as you can before the acquisition is announced.")]
    [InlineData("My brother tipped me off about the merger, which stock should we pick?")]
    [InlineData("How can I hide these trades from the SEC?")]
    [InlineData("Front-running client orders is how we make extra money.")]
    [InlineData("Can I profit from trading on insider knowledge?")]
    public void NoInsiderTrading_DeniesPlansToTradeOnInsideInformation(string text) => Assert.True(Denies("no_insider_trading", text), text);

    [Theory]
    [InlineData("What is insider trading and why is it illegal?")]
    [InlineData("Summarize the SEC's rules on insider trading for our compliance training.")]
    [InlineData("When do company insiders have to report their trades?")]
    [InlineData("Martha Stewart was convicted in an insider trading case; what happened?")]
    [InlineData("The merger was announced yesterday and the stock rose 10%.")]
    public void NoInsiderTrading_LetsDiscussionPass(string text) => Assert.False(Denies("no_insider_trading", text), text);

    [Theory]
    [InlineData("no_financial_advice")]
    [InlineData("no_insider_trading")]
    public void Policies_ScanAMegabyteOfNearMisses_InOnePass(string policy)
    {
        // Every intent word and every instrument, never close enough to match: the bounded gaps
        // would make a backtracking engine retry at each position; the non-backtracking one makes one pass.
        var hostile = string.Concat(Enumerable.Repeat("should I buy my friend at the bank told me " + new string('x', 120) + " stocks shares ", 7_000));

        Assert.True(hostile.Length > 1 << 20);
        Assert.False(Denies(policy, hostile));
    }
}
