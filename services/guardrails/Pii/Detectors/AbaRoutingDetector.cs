namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// US bank routing (ABA transit) numbers: nine digits with a valid checksum and Federal Reserve
/// prefix, next to routing words. Without such words a checksum alone is too weak: one random
/// nine-digit number in about twenty passes it.
/// </summary>
internal sealed class AbaRoutingDetector : PiiDetector
{
    private static readonly System.Text.RegularExpressions.Regex Pattern = Candidates(@"\b\d{9}\b");

    private static readonly ContextWords RoutingWords = new(
        "routing", "aba", "rtn", "transit", "routing number", "routing no", "r/t", "bank code", "wire");

    // "Routing number 021000021, account 026009593": the nearer word decides what the second number is.
    private static readonly ContextWords AccountWords = new("account", "acct", "a/c");

    /// <inheritdoc />
    public override PiiType Type => PiiType.AbaRouting;

    /// <inheritdoc />
    public override int MaxLength => 9;

    /// <inheritdoc />
    public override bool SpansWhitespace => false;

    /// <inheritdoc />
    public override bool MightContain(string text) => HasDigit(text);

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        foreach (var m in Pattern.EnumerateMatches(text))
        {
            if (TextBoundaries.IsolatedNumber(text, m.Index, m.Index + m.Length)
                && CheckDigits.AbaRouting(text.AsSpan(m.Index, m.Length))
                && RoutingWords.Near(text, m.Index, m.Index + m.Length)
                && AccountWords.NearestBefore(text, m.Index) <= RoutingWords.NearestBefore(text, m.Index))
            {
                found.Add(new PiiMatch(PiiType.AbaRouting, m.Index, m.Length, 0.95));
            }
        }
    }
}
