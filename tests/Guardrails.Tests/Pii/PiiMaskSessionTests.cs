using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Tests.Pii;

public sealed class PiiMaskSessionTests
{
    private static readonly PiiScanner Scanner = new();

    [Fact]
    public void Mask_NumbersPlaceholdersPerLabel_SameValueSamePlaceholder()
    {
        var session = new PiiMaskSession();
        const string text = "Mail a@example.com and b@example.com, then A@Example.com again; card 4111 1111 1111 1111 or 4111-1111-1111-1111.";

        var masked = session.Mask(text, Scanner.Scan(text));

        Assert.Equal("Mail [EMAIL_1] and [EMAIL_2], then [EMAIL_1] again; card [CARD_1] or [CARD_1].", masked);
    }

    [Fact]
    public void Mask_IsStableAcrossCallsOfOneRequest()
    {
        var session = new PiiMaskSession();
        const string first = "My SSN is 123-45-6789.";
        const string second = "Again: 123-45-6789, and a@example.com.";

        Assert.Equal("My SSN is [SSN_1].", session.Mask(first, Scanner.Scan(first)));
        Assert.Equal("Again: [SSN_1], and [EMAIL_1].", session.Mask(second, Scanner.Scan(second)));
    }

    [Fact]
    public void Restore_PutsOriginalsBack_OnlyForThisSessionsPlaceholders()
    {
        var session = new PiiMaskSession();
        const string prompt = "Write to maria.lopez@example.org about card 4111 1111 1111 1111.";
        session.Mask(prompt, Scanner.Scan(prompt));

        var answer = session.Restore("I wrote to [EMAIL_1] about [CARD_1]; [EMAIL_2] and [link] are not ours.");

        Assert.Equal("I wrote to maria.lopez@example.org about 4111 1111 1111 1111; [EMAIL_2] and [link] are not ours.", answer);
    }

    [Fact]
    public void Placeholders_TravelBetweenCalls()
    {
        var session = new PiiMaskSession();
        const string prompt = "Call +44 20 7946 0958.";
        session.Mask(prompt, Scanner.Scan(prompt));

        var later = PiiMaskSession.FromPlaceholders(session.Placeholders);
        const string next = "Or +1 415 555 0132 or +44 20 7946 0958.";

        Assert.Equal("Call +44 20 7946 0958 now.", later.Restore("Call [PHONE_1] now."));
        Assert.Equal("Or [PHONE_2] or [PHONE_1].", later.Mask(next, Scanner.Scan(next)));
    }

    [Fact]
    public void FromPlaceholders_RejectsSomethingElse() =>
        Assert.Throws<ArgumentException>(() => PiiMaskSession.FromPlaceholders(new Dictionary<string, string> { ["EMAIL_1"] = "a@b.co" }));

    [Fact]
    public void Rewrite_MasksNewOutputValues_AndLeavesTheUsersOwnAndRestoredOnesReadable()
    {
        var session = new PiiMaskSession();
        const string prompt = "I am a@example.com.";
        session.Mask(prompt, Scanner.Scan(prompt));
        const string answer = "Hello [EMAIL_1] (a@example.com); contact b@example.com.";

        var rewritten = session.Rewrite(answer, Scanner.Scan(answer), mask: true, restore: true);

        Assert.Equal("Hello a@example.com (a@example.com); contact [EMAIL_2].", rewritten);
    }
}
