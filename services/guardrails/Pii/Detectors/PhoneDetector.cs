namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// Telephone numbers. Accepted shapes, in falling confidence:
/// <list type="number">
/// <item>E.164 and international: <c>+</c>, 8–15 digits in any common grouping ("+44 20 7946 0958", "+1 (415) 555-0132", "+49 (0)30 1234 5678").</item>
/// <item>North American: 3-3-4 with area and exchange codes starting 2–9, optionally a leading 1 and a parenthesised area code.</item>
/// <item>National with a trunk 0: a first group of 2–5 digits starting with 0 and 10–11 digits in all ("020 7946 0958", "01 23 45 67 89", "030 12345678").</item>
/// <item>Anything of 7–15 digits that is not date-shaped, right after phone words ("call", "tel", "mobile").</item>
/// </list>
/// Without a <c>+</c>, a number after words such as "order", "version", "ISBN" or "ticket" is not a
/// phone unless phone words are there too. Dotted versions, dates, IPs and ISBNs do not have these
/// shapes, which is where most of the precision comes from.
/// </summary>
internal sealed class PhoneDetector : PiiDetector
{
    private const int MaxGroups = 8;

    // Digits joined by up to three separator characters: a run that may hold several numbers, split in code.
    private static readonly System.Text.RegularExpressions.Regex Pattern = Candidates(@"(\+ ?)?\(?\d([ ().\-]{0,3}\d){6,}");

    private static readonly ContextWords PhoneWords = new(
        "phone", "tel", "tel.", "telephone", "mobile", "cell", "fax", "call", "calling", "whatsapp", "sms", "text me", "reach me",
        "ring", "dial", "contact number", "hotline", "mob", "ph", "landline", "tél", "telefon");

    private static readonly ContextWords NotPhoneWords = new(
        "order", "invoice", "ticket", "ref", "reference", "isbn", "version", "build", "tracking", "sku", "serial", "id", "case",
        "confirmation", "account", "acct", "routing", "ssn", "imei", "po", "part", "model", "card", "iban", "zip", "patent",
        "transaction", "receipt", "booking", "policy", "claim", "release", "batch", "lot", "item", "v");

    /// <inheritdoc />
    public override PiiType Type => PiiType.Phone;

    /// <inheritdoc />
    public override int MaxLength => 32;

    /// <inheritdoc />
    public override bool SpansWhitespace => true;

    /// <inheritdoc />
    public override bool MightContain(string text) => HasDigit(text);

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        foreach (var m in Pattern.EnumerateMatches(text))
        {
            var groups = DigitGroups.Split(text, m.Index, m.Index + m.Length);
            var chunkStart = 0;
            for (var g = 0; g < groups.Count; g++)
            {
                if (g == groups.Count - 1 || !JoinsNumber(text, groups, g))
                {
                    DetectInChunk(text, groups, chunkStart, g, found);
                    chunkStart = g + 1;
                }
            }
        }
    }

    private static void DetectInChunk(string text, List<DigitGroup> groups, int first, int last, List<PiiMatch> found)
    {
        // From the start of the chunk, then right after each number found ("415-555-0132 415-555-0199");
        // never from the middle of a run, where the tail of an account or IBAN would look like a number.
        var i = first;
        while (i <= last)
        {
            var matched = false;
            for (var j = Math.Min(last, i + MaxGroups - 1); j >= i && !matched; j--)
            {
                if (TryWindow(text, groups, i, j, wholeChunk: i == first && j == last, out var match))
                {
                    found.Add(match);
                    i = j + 1;
                    matched = true;
                }
            }

            if (!matched)
            {
                return;
            }
        }
    }

    private static bool TryWindow(string text, List<DigitGroup> groups, int i, int j, bool wholeChunk, out PiiMatch match)
    {
        match = default;
        var start = groups[i].Start;
        var end = groups[j].End;
        if (Parenthesised(text, groups[i]))
        {
            start--;
        }

        var plus = start > 0 && text[start - 1] == '+' ? start - 1 : start > 1 && text[start - 1] == ' ' && text[start - 2] == '+' ? start - 2 : -1;
        if (plus >= 0)
        {
            start = plus;
        }

        if (end < text.Length && text[end] == ')' && Parenthesised(text, groups[j]))
        {
            end++;
        }

        var digits = DigitGroups.Digits(groups, i, j);
        if (digits is < 7 or > 16 || end - start > 32 || !TextBoundaries.IsolatedNumber(text, start, end))
        {
            return false;
        }

        var phoneWords = PhoneWords.Before(text, start, 32);
        double confidence;
        if (plus >= 0)
        {
            var trunk = j > i && groups[i + 1].Length == 1 && text[groups[i + 1].Start] == '0' && Parenthesised(text, groups[i + 1]) ? 1 : 0;
            if (digits - trunk is < 8 or > 15 || text[groups[i].Start] == '0')
            {
                return false;
            }

            confidence = 0.9;
        }
        else if (NotPhoneWords.Before(text, start, 24) && !phoneWords)
        {
            return false;
        }
        else if (NorthAmerican(text, groups, i, j))
        {
            confidence = 0.85;
        }
        else if (NationalWithTrunk(text, groups, i, j, digits))
        {
            confidence = 0.75;
        }
        else if (phoneWords && wholeChunk && digits <= 15 && !DateShaped(groups, i, j))
        {
            confidence = 0.7;
        }
        else
        {
            return false;
        }

        match = new PiiMatch(PiiType.Phone, start, end - start, phoneWords ? Math.Min(0.95, confidence + 0.05) : confidence);
        return true;
    }

    /// <summary>Whether the characters between group <paramref name="g"/> and the next are one separator (" ", "-", "."), optionally with the parentheses of an area code.</summary>
    private static bool JoinsNumber(string text, List<DigitGroup> groups, int g)
    {
        var separator = DigitGroups.SeparatorAfter(text, groups, g);
        var plain = 0;
        for (var k = 0; k < separator.Length; k++)
        {
            switch (separator[k])
            {
                case ')' when k == 0 && Parenthesised(text, groups[g]):
                    break;
                case '(' when k == separator.Length - 1 && Parenthesised(text, groups[g + 1]):
                    break;
                case ' ' or '-' or '.':
                    plain++;
                    break;
                default:
                    return false;
            }
        }

        return plain <= 1;
    }

    private static bool Parenthesised(string text, DigitGroup group) =>
        group.Start > 0 && text[group.Start - 1] == '(' && group.End < text.Length && text[group.End] == ')';

    /// <summary>NANP: [1] NXX NXX XXXX, area and exchange codes starting 2–9.</summary>
    private static bool NorthAmerican(string text, List<DigitGroup> groups, int i, int j)
    {
        if (j - i == 3 && groups[i].Length == 1 && text[groups[i].Start] == '1')
        {
            i++;
        }

        return j - i == 2
            && groups[i].Length == 3 && groups[i + 1].Length == 3 && groups[j].Length == 4
            && text[groups[i].Start] >= '2' && text[groups[i + 1].Start] >= '2'
            && DigitGroups.SeparatorAfter(text, groups, i + 1) is " " or "-" or ".";
    }

    /// <summary>European-style national numbers: a trunk-0 prefix of 2–5 digits, 10–11 digits in all, one kind of separator.</summary>
    private static bool NationalWithTrunk(string text, List<DigitGroup> groups, int i, int j, int digits)
    {
        if (j == i || digits is < 10 or > 11 || text[groups[i].Start] != '0' || groups[i].Length is < 2 or > 5 || text[groups[i].Start + 1] == '0')
        {
            return false;
        }

        var kind = '\0';
        for (var g = i; g <= j; g++)
        {
            if (groups[g].Length < 2)
            {
                return false;
            }

            if (g < j)
            {
                foreach (var c in DigitGroups.SeparatorAfter(text, groups, g))
                {
                    if (c is ' ' or '-' or '.' && kind != c)
                    {
                        if (kind != '\0')
                        {
                            return false;
                        }

                        kind = c;
                    }
                }
            }
        }

        // Dots only in the French pairs style (01.23.45.67.89); "0521.113.45.28" is no phone.
        return kind != '.' || AllPairs(groups, i, j);
    }

    private static bool AllPairs(List<DigitGroup> groups, int i, int j)
    {
        for (var g = i; g <= j; g++)
        {
            if (groups[g].Length != 2)
            {
                return false;
            }
        }

        return true;
    }

    private static bool DateShaped(List<DigitGroup> groups, int i, int j) =>
        j - i == 2 && ((groups[i].Length == 4 && groups[i + 1].Length <= 2 && groups[j].Length <= 2)
            || (groups[i].Length <= 2 && groups[i + 1].Length <= 2 && groups[j].Length is 2 or 4));
}
