namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// Dates of birth: a plausible date (numeric Y-M-D, M/D/Y, D.M.Y, or with a month name) next to
/// words such as "DOB", "date of birth", "born" or "birthday". A date alone is not personal data.
/// </summary>
internal sealed class DateOfBirthDetector : PiiDetector
{
    private static readonly System.Text.RegularExpressions.Regex Numeric = Candidates(@"\b\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}\b");

    private static readonly System.Text.RegularExpressions.Regex Named = Candidates(
        @"\b(\d{1,2}(st|nd|rd|th)?( of)? )?(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?( \d{1,2}(st|nd|rd|th)?)?,? \d{4}\b",
        ignoreCase: true);

    private static readonly string[] Months =
        ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

    private static readonly ContextWords BirthWords = new(
        "dob", "d.o.b", "d.o.b.", "date of birth", "birth date", "birthdate", "birthday", "born", "b-day", "bday", "birth", "geboren", "né", "née");

    /// <inheritdoc />
    public override PiiType Type => PiiType.DateOfBirth;

    /// <inheritdoc />
    public override int MaxLength => 32;

    /// <inheritdoc />
    public override bool SpansWhitespace => true;

    /// <inheritdoc />
    public override bool MightContain(string text) => HasDigit(text);

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        foreach (var m in Numeric.EnumerateMatches(text))
        {
            if (PlausibleNumeric(text.AsSpan(m.Index, m.Length)) && TextBoundaries.IsolatedNumber(text, m.Index, m.Index + m.Length))
            {
                Add(text, m.Index, m.Length, found);
            }
        }

        foreach (var m in Named.EnumerateMatches(text))
        {
            if (PlausibleNamed(text.AsSpan(m.Index, m.Length)))
            {
                Add(text, m.Index, m.Length, found);
            }
        }
    }

    private static void Add(string text, int start, int length, List<PiiMatch> found)
    {
        if (BirthWords.Near(text, start, start + length, 32, 16))
        {
            found.Add(new PiiMatch(PiiType.DateOfBirth, start, length, 0.85));
        }
    }

    private static bool PlausibleNumeric(ReadOnlySpan<char> s)
    {
        Span<Range> parts = stackalloc Range[4];
        var count = s.SplitAny(parts, "/.-");
        if (count != 3 || s[parts[0]].Length == 3 || s[parts[2]].Length == 3)
        {
            return false;
        }

        var a = Number(s[parts[0]]);
        var b = Number(s[parts[1]]);
        var c = Number(s[parts[2]]);
        return s[parts[0]].Length == 4
            ? PlausibleYear(a) && b is >= 1 and <= 12 && c is >= 1 and <= 31
            : (s[parts[2]].Length == 2 || PlausibleYear(c)) && a is >= 1 and <= 31 && b is >= 1 and <= 31 && (a <= 12 || b <= 12);
    }

    private static bool PlausibleNamed(ReadOnlySpan<char> s)
    {
        foreach (var range in s.SplitAny(" ,."))
        {
            var word = s[range];
            if (word.Length >= 3 && char.IsAsciiLetter(word[0]) && word is not ("of" or "st" or "nd" or "rd" or "th"))
            {
                var month = false;
                foreach (var name in Months)
                {
                    month |= name.AsSpan().StartsWith(word, StringComparison.OrdinalIgnoreCase)
                        || (word.Length == 4 && word.Equals("sept", StringComparison.OrdinalIgnoreCase));
                }

                if (!month)
                {
                    return false;
                }
            }
        }

        return PlausibleYear(Number(s[^4..]));
    }

    private static bool PlausibleYear(int year) => year is >= 1900 and <= 2100;

    private static int Number(ReadOnlySpan<char> digits) =>
        int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : -1;
}
