namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>
/// One detected value: its type, where it is in the scanned text (UTF-16 offsets) and how sure the
/// detector is (0–1; the scanner reports nothing under <see cref="PiiScanner.MinConfidence"/>).
/// </summary>
internal readonly record struct PiiMatch(PiiType Type, int Start, int Length, double Confidence)
{
    /// <summary>The offset just after the match.</summary>
    public int End => Start + Length;

    /// <summary>The matched text in <paramref name="text"/>.</summary>
    public string ValueIn(string text) => text.Substring(Start, Length);
}
