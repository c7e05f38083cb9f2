namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// US social security numbers in the ranges the SSA issues: area not 000, 666 or 900–999, group
/// not 00, serial not 0000. Dashed (123-45-6789) they stand on their own unless words such as
/// "part" or "order" say otherwise; spaced or undashed they are reported only next to SSN words,
/// since nine digits alone are as likely a zip+4, an order or a routing number.
/// </summary>
internal sealed class UsSsnDetector : PiiDetector
{
    private static readonly System.Text.RegularExpressions.Regex Pattern = Candidates(@"\b\d{3}[\- ]?\d{2}[\- ]?\d{4}\b");

    private static readonly ContextWords SsnWords = new(
        "ssn", "ss#", "ss #", "ssn#", "social security", "social sec", "social-security", "soc sec", "taxpayer id", "tin");

    private static readonly ContextWords NotSsnWords = new(
        "part", "order", "invoice", "model", "sku", "serial", "ref", "reference", "ticket", "case", "phone", "tel", "fax", "call",
        "account", "acct", "routing", "tracking", "claim", "policy", "isbn", "item", "lot", "batch", "confirmation", "zip");

    /// <inheritdoc />
    public override PiiType Type => PiiType.UsSsn;

    /// <inheritdoc />
    public override int MaxLength => 11;

    /// <inheritdoc />
    public override bool SpansWhitespace => true;

    /// <inheritdoc />
    public override bool MightContain(string text) => HasDigit(text);

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        foreach (var m in Pattern.EnumerateMatches(text))
        {
            var start = m.Index;
            var end = m.Index + m.Length;
            var s = text.AsSpan(start, m.Length);
            var dashed = s.Length == 11 && s[3] == '-' && s[6] == '-';
            var spaced = s.Length == 11 && s[3] == ' ' && s[6] == ' ';
            if ((s.Length != 9 && !dashed && !spaced) || !TextBoundaries.IsolatedNumber(text, start, end) || !ValidRanges(s))
            {
                continue;
            }

            double confidence;
            if (SsnWords.Near(text, start, end))
            {
                confidence = 0.95;
            }
            else if (dashed && !NotSsnWords.Before(text, start, 30))
            {
                confidence = 0.8;
            }
            else
            {
                continue;
            }

            found.Add(new PiiMatch(PiiType.UsSsn, start, end - start, confidence));
        }
    }

    private static bool ValidRanges(ReadOnlySpan<char> s)
    {
        Span<char> digits = stackalloc char[9];
        var n = 0;
        foreach (var c in s)
        {
            if (char.IsAsciiDigit(c))
            {
                digits[n++] = c;
            }
        }

        var area = int.Parse(digits[..3], provider: System.Globalization.CultureInfo.InvariantCulture);
        return area != 0 && area != 666 && area < 900 && !digits[3..5].SequenceEqual("00") && !digits[5..].SequenceEqual("0000");
    }
}
