using System.Collections.Frozen;

namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// IBANs: a country code with its registered length (the SWIFT IBAN registry), two check digits and
/// the national part, compact or in groups of four, valid under mod-97. The length table also
/// tells where an IBAN ends when words follow it ("DE89 3704 0044 0532 0130 00 EUR").
/// </summary>
internal sealed class IbanDetector : PiiDetector
{
    private const int Longest = 34;

    private static readonly System.Text.RegularExpressions.Regex Pattern = Candidates(@"\b[A-Z]{2}\d{2}( ?[A-Z0-9]){11,}");

    private static readonly FrozenDictionary<string, int> Lengths = new Dictionary<string, int>
    {
        ["AD"] = 24, ["AE"] = 23, ["AL"] = 28, ["AT"] = 20, ["AZ"] = 28, ["BA"] = 20, ["BE"] = 16, ["BG"] = 22,
        ["BH"] = 22, ["BI"] = 27, ["BR"] = 29, ["BY"] = 28, ["CH"] = 21, ["CR"] = 22, ["CY"] = 28, ["CZ"] = 24,
        ["DE"] = 22, ["DJ"] = 27, ["DK"] = 18, ["DO"] = 28, ["EE"] = 20, ["EG"] = 29, ["ES"] = 24, ["FI"] = 18,
        ["FK"] = 18, ["FO"] = 18, ["FR"] = 27, ["GB"] = 22, ["GE"] = 22, ["GI"] = 23, ["GL"] = 18, ["GR"] = 27,
        ["GT"] = 28, ["HR"] = 21, ["HU"] = 28, ["IE"] = 22, ["IL"] = 23, ["IQ"] = 23, ["IS"] = 26, ["IT"] = 27,
        ["JO"] = 30, ["KW"] = 30, ["KZ"] = 20, ["LB"] = 28, ["LC"] = 32, ["LI"] = 21, ["LT"] = 20, ["LU"] = 20,
        ["LV"] = 21, ["LY"] = 25, ["MC"] = 27, ["MD"] = 24, ["ME"] = 22, ["MK"] = 19, ["MN"] = 20, ["MR"] = 27,
        ["MT"] = 31, ["MU"] = 30, ["NI"] = 28, ["NL"] = 18, ["NO"] = 15, ["OM"] = 23, ["PK"] = 24, ["PL"] = 28,
        ["PS"] = 29, ["PT"] = 25, ["QA"] = 29, ["RO"] = 24, ["RS"] = 22, ["RU"] = 33, ["SA"] = 24, ["SC"] = 31,
        ["SD"] = 18, ["SE"] = 24, ["SI"] = 19, ["SK"] = 24, ["SM"] = 27, ["SO"] = 23, ["ST"] = 25, ["SV"] = 28,
        ["TL"] = 23, ["TN"] = 24, ["TR"] = 26, ["UA"] = 29, ["VA"] = 22, ["VG"] = 24, ["XK"] = 20, ["YE"] = 30,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> LengthLookup =
        Lengths.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly ContextWords IbanWords = new("iban", "bank", "account", "wire", "transfer", "sepa", "bic", "swift", "pay");

    /// <inheritdoc />
    public override PiiType Type => PiiType.Iban;

    /// <inheritdoc />
    public override int MaxLength => Longest + (Longest / 4);

    /// <inheritdoc />
    public override bool SpansWhitespace => true;

    /// <inheritdoc />
    public override bool MightContain(string text) => HasDigit(text);

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        Span<char> compact = stackalloc char[Longest];
        foreach (var m in Pattern.EnumerateMatches(text))
        {
            if (!LengthLookup.TryGetValue(text.AsSpan(m.Index, 2), out var length))
            {
                continue;
            }

            // Take exactly the registered number of characters; they must end the word they are in.
            var n = 0;
            var end = m.Index;
            var spaced = false;
            for (var i = m.Index; i < m.Index + m.Length && n < length; i++)
            {
                if (text[i] == ' ')
                {
                    spaced = true;
                    continue;
                }

                compact[n++] = text[i];
                end = i + 1;
            }

            if (n < length || (end < text.Length && char.IsLetterOrDigit(text[end])) || !CheckDigits.IbanMod97(compact[..n]))
            {
                continue;
            }

            // Printed IBANs group by four; a space elsewhere means the run only happened to touch other words.
            if (spaced && !GroupedByFour(text, m.Index, end))
            {
                continue;
            }

            var confidence = IbanWords.Near(text, m.Index, end) ? 0.99 : 0.95;
            found.Add(new PiiMatch(PiiType.Iban, m.Index, end - m.Index, confidence));
        }
    }

    private static bool GroupedByFour(string text, int start, int end)
    {
        var run = 0;
        for (var i = start; i < end; i++)
        {
            if (text[i] == ' ')
            {
                if (run != 4)
                {
                    return false;
                }

                run = 0;
            }
            else
            {
                run++;
            }
        }

        return run is >= 1 and <= 4;
    }
}
