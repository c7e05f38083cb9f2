using System.Text;
using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Tests.Pii;

public sealed class StreamingPiiFilterTests
{
    private static readonly PiiScanner Scanner = new();

    [Fact]
    public void CardSplitOverFiveDeltas_IsStillMasked_AndNeverSentInPart()
    {
        var filter = new StreamingPiiFilter(Scanner, null, new PiiMaskSession(), mask: true, restore: false);
        string[] deltas = ["Your card 4111 ", "1111", " 1111 1", "111 is on file", ", thanks for waiting."];

        var sent = new StringBuilder();
        foreach (var delta in deltas)
        {
            var now = filter.Push(delta);
            Assert.DoesNotContain("4111", now);
            sent.Append(now);
        }

        sent.Append(filter.Flush());
        Assert.Equal("Your card [CARD_1] is on file, thanks for waiting.", sent.ToString());
        Assert.Equal(PiiType.CreditCard, Assert.Single(filter.Found).Type);
        Assert.Equal("Your card ".Length, filter.Found[0].Start);
    }

    [Fact]
    public void EveryCharacterAsItsOwnDelta_GivesTheSameTextAsOneScan()
    {
        const string answer = "Reach maria.lopez@example.org or +44 20 7946 0958; IBAN DE89 3704 0044 0532 0130 00; "
            + "key sk-proj-a8F3kLmN0pQrStUvWxYz1234567890abcdEFGH; server 10.0.0.12. Done.";
        var whole = new PiiMaskSession().Mask(answer, Scanner.Scan(answer));

        var filter = new StreamingPiiFilter(Scanner, null, new PiiMaskSession(), mask: true, restore: false);
        var sent = new StringBuilder();
        foreach (var c in answer)
        {
            sent.Append(filter.Push(c.ToString()));
        }

        sent.Append(filter.Flush());
        Assert.Equal(whole, sent.ToString());
        Assert.Equal(5, filter.Found.Count);
    }

    [Fact]
    public void PlainText_IsHeldBackNoLongerThanTheWindow()
    {
        var filter = new StreamingPiiFilter(Scanner, null, new PiiMaskSession(), mask: true, restore: false);
        var pushed = 0;
        var sent = 0;
        foreach (var word in Enumerable.Repeat("the quick brown fox jumps over the lazy dog ", 40))
        {
            pushed += word.Length;
            sent += filter.Push(word).Length;
            Assert.True(pushed - sent <= filter.WindowLength, $"holding back {pushed - sent} characters");
        }

        Assert.True(filter.WindowLength < 100, $"window of {filter.WindowLength} characters");
        Assert.Equal(pushed, sent + filter.Flush().Length);
    }

    [Fact]
    public void LongKey_IsHeldOnlyWhileItGrows()
    {
        var filter = new StreamingPiiFilter(Scanner, null, new PiiMaskSession(), mask: true, restore: false);
        var sent = new StringBuilder(filter.Push(new string('a', 200) + " token "));
        var key = "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6";
        foreach (var chunk in key.Chunk(3))
        {
            var now = filter.Push(new string(chunk));
            Assert.DoesNotContain("ghp_", now);
            sent.Append(now);
        }

        sent.Append(filter.Push(" and then a long tail of ordinary words that lets the window move on past the key entirely"));
        Assert.Contains("[SECRET_1]", sent.ToString());
        sent.Append(filter.Flush());
        Assert.DoesNotContain("ghp_", sent.ToString());
    }

    [Fact]
    public void PlaceholderSplitAcrossDeltas_IsRestoredWhole()
    {
        var session = PiiMaskSession.FromPlaceholders(new Dictionary<string, string> { ["[EMAIL_1]"] = "maria.lopez@example.org" });
        var filter = new StreamingPiiFilter(Scanner, null, session, mask: true, restore: true);
        string[] deltas = ["I will write to [EM", "AIL", "_1", "] today", " and cc [EMAIL_1].", " Unrelated [note] stays."];

        var sent = new StringBuilder();
        foreach (var delta in deltas)
        {
            var now = filter.Push(delta);
            Assert.DoesNotContain("[EM", now);
            sent.Append(now);
        }

        sent.Append(filter.Flush());
        Assert.Equal("I will write to maria.lopez@example.org today and cc maria.lopez@example.org. Unrelated [note] stays.", sent.ToString());
        Assert.Empty(filter.Found);
    }

    [Fact]
    public void FlagMode_LeavesTextAlone_ButReportsWhatIsInTheReleasedText()
    {
        var filter = new StreamingPiiFilter(Scanner, [PiiType.UsSsn], new PiiMaskSession(), mask: false, restore: false);

        var sent = filter.Push("Your SSN is 123-") + filter.Push("45-6789 as requested.") + filter.Flush();

        Assert.Equal("Your SSN is 123-45-6789 as requested.", sent);
        Assert.Equal(PiiType.UsSsn, Assert.Single(filter.Found).Type);
    }

    [Fact]
    public void ContextWordsInAnEarlierDelta_StillQualifyALaterNumber()
    {
        var filter = new StreamingPiiFilter(Scanner, null, new PiiMaskSession(), mask: true, restore: false);
        var sent = new StringBuilder();
        sent.Append(filter.Push("The routing number is "));
        sent.Append(filter.Push(new string(' ', 10)));
        sent.Append(filter.Push("021000021"));
        sent.Append(filter.Push(" and that is all I can share about the bank account today, sorry about that."));
        sent.Append(filter.Flush());

        Assert.Contains("[ROUTING_1]", sent.ToString());
    }

    [Fact]
    public void CertificateBlock_IsNotHeld()
    {
        // Flag mode: the text goes out unchanged, so what was sent can be counted exactly.
        var filter = new StreamingPiiFilter(Scanner, null, new PiiMaskSession(), mask: false, restore: false);
        var pushed = "Here is the certificate:\n-----BEGIN CERTIFICATE-----\n".Length;
        var sent = filter.Push("Here is the certificate:\n-----BEGIN CERTIFICATE-----\n").Length;
        for (var i = 0; i < 20; i++)
        {
            const string line = "MIIBszCCAVmgAwIBAgIUJ2xqZ3cQw9nXn3Lr0b7i5pFd1ZkwCgYIKoZIzj0EAwIw\n";
            pushed += line.Length;
            sent += filter.Push(line).Length;
        }

        Assert.True(pushed - sent <= filter.WindowLength, $"holding back {pushed - sent} characters");
    }

    [Fact]
    public void PrivateKeyBlock_IsHeldUntilItsEndLine_ThenMaskedWhole()
    {
        var filter = new StreamingPiiFilter(Scanner, null, new PiiMaskSession(), mask: true, restore: false);
        var sent = new StringBuilder(filter.Push("Here is the key:\n-----BEGIN PRIVATE KEY-----\n"));
        for (var i = 0; i < 20; i++)
        {
            var now = filter.Push("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n");
            Assert.DoesNotContain("MIIE", now);
            sent.Append(now);
        }

        sent.Append(filter.Push("-----END PRIVATE KEY-----\nKeep it safe, and rotate it soon because it was shared in a chat."));
        sent.Append(filter.Flush());
        Assert.Equal("Here is the key:\n[SECRET_1]\nKeep it safe, and rotate it soon because it was shared in a chat.", sent.ToString());
    }
}
