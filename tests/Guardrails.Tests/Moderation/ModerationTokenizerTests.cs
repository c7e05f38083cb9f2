using Gateway.Aspire.Guardrails.Moderation;

namespace Gateway.Aspire.Guardrails.Tests.Moderation;

/// <summary>Normalisation of obfuscated text into moderation tokens.</summary>
public sealed class ModerationTokenizerTests
{
    private static string[] Words(string text) =>
        [.. ModerationTokenizer.Tokenize(text, ModerationLexicon.Vocabulary, TestContext.Current.CancellationToken).Select(t => t.Text)];

    [Theory]
    [InlineData("k1ll", "kil")]
    [InlineData("h@te", "hate")]
    [InlineData("a$$", "as")]
    [InlineData("KIIIILLLL", "kil")]
    [InlineData("st00pid", "stopid")]
    public void Tokenize_MapsLeetspeakAndSqueezesRepeats(string text, string expected) => Assert.Equal([expected], Words(text));

    [Fact]
    public void Tokenize_KeepsNumbersAndPricesAsDigits() => Assert.Equal(["11", "year", "old", "100"], Words("11-year-old, $100!"));

    [Fact]
    public void Tokenize_SplitsSpacedLettersIntoKnownWords() => Assert.Equal(["i", "wil", "kil", "you"], Words("i w i l l k i l l y o u"));

    [Fact]
    public void Tokenize_UsesDoubleSpacesAsWordBreaksInSpacedText() => Assert.Equal(["you", "are", "a", "loser"], Words("y o u  a r e  a  l o s e r"));

    [Fact]
    public void Tokenize_LeavesAnUnknownLetterListAlone() => Assert.Equal(["options", "x", "q", "z"], Words("options x q z"));

    [Fact]
    public void Tokenize_SplitsContractions() => Assert.Equal(["i", "l", "go", "don", "t"], Words("I'll go, don't"));

    [Fact]
    public void Tokenize_MarksShortQuotationsAndSentences()
    {
        var tokens = ModerationTokenizer.Tokenize("Is 'idiot' rude? Yes.", ModerationLexicon.Vocabulary, TestContext.Current.CancellationToken);

        Assert.Equal([false, true, false, false], tokens.Select(t => t.Quoted));
        Assert.Equal([0, 0, 0, 1], tokens.Select(t => t.Sentence));
    }
}
