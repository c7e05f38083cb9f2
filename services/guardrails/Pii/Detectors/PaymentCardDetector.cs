namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// Payment card numbers: 13–19 digits, alone or grouped by single spaces or dashes the way cards
/// are printed (4-4-4-4, 4-6-5, ...), Luhn-valid. A known issuer range (Visa, Mastercard, Amex,
/// Discover, JCB, Diners, UnionPay, Maestro, Mir) and its usual length raise confidence; an unknown
/// range is reported only next to card words, and words such as "order" or "IMEI" lower it.
/// </summary>
internal sealed class PaymentCardDetector : PiiDetector
{
    private static readonly System.Text.RegularExpressions.Regex Pattern = Candidates(@"\d([ \-]?\d){12,}");

    private static readonly ContextWords CardWords = new(
        "card", "credit", "debit", "visa", "mastercard", "amex", "american express", "discover", "cc", "cvv", "cvc", "expiry", "exp", "pan", "jcb", "maestro");

    private static readonly ContextWords NotCardWords = new(
        "order", "invoice", "tracking", "imei", "serial", "isbn", "ticket", "reference", "ref", "shipment", "parcel", "sku", "account", "acct", "iban");

    /// <inheritdoc />
    public override PiiType Type => PiiType.CreditCard;

    /// <inheritdoc />
    public override int MaxLength => 19 + 18;

    /// <inheritdoc />
    public override bool SpansWhitespace => true;

    /// <inheritdoc />
    public override bool MightContain(string text) => HasDigit(text);

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        foreach (var m in Pattern.EnumerateMatches(text))
        {
            // Longest window from the start of the run, so a card followed by an expiry ("... 1111 09 28")
            // still matches; then the same right after it. A window in the middle of a run is not tried:
            // four digit groups inside a mistyped IBAN are not a card.
            var groups = DigitGroups.Split(text, m.Index, m.Index + m.Length);
            var first = 0;
            while (first < groups.Count && TryLongestWindow(text, groups, first, out var last, out var match))
            {
                found.Add(match);
                first = last + 1;
            }
        }
    }

    private static bool TryLongestWindow(string text, List<DigitGroup> groups, int first, out int last, out PiiMatch match)
    {
        for (last = Math.Min(groups.Count - 1, first + 18); last >= first; last--)
        {
            if (TryWindow(text, groups, first, last, out match))
            {
                return true;
            }
        }

        match = default;
        return false;
    }

    private static bool TryWindow(string text, List<DigitGroup> groups, int first, int last, out PiiMatch match)
    {
        match = default;
        var digits = DigitGroups.Digits(groups, first, last);
        if (digits is < 13 or > 19 || !CardLikeGrouping(text, groups, first, last))
        {
            return false;
        }

        var start = groups[first].Start;
        var end = groups[last].End;
        if (!TextBoundaries.IsolatedNumber(text, start, end) || !CheckDigits.Luhn(text.AsSpan(start, end - start)))
        {
            return false;
        }

        Span<char> compact = stackalloc char[19];
        var n = 0;
        foreach (var c in text.AsSpan(start, end - start))
        {
            if (char.IsAsciiDigit(c))
            {
                compact[n++] = c;
            }
        }

        var confidence = IssuerConfidence(compact[..n]);
        if (CardWords.Before(text, start))
        {
            confidence = Math.Max(confidence, 0.7) + 0.05;
        }
        else if (NotCardWords.Before(text, start, 24))
        {
            confidence -= 0.3;
        }

        if (confidence < PiiScanner.MinConfidence)
        {
            return false;
        }

        match = new PiiMatch(PiiType.CreditCard, start, end - start, Math.Min(confidence, 0.99));
        return true;
    }

    /// <summary>One run of digits, or groups as printed on cards: fours with a shorter tail (4-4-4-4-3), or 4-6-4 / 4-6-5; one kind of separator.</summary>
    private static bool CardLikeGrouping(string text, List<DigitGroup> groups, int first, int last)
    {
        if (first == last)
        {
            return true;
        }

        var count = last - first + 1;
        var amexLike = count == 3 && groups[first].Length == 4 && groups[first + 1].Length == 6 && groups[last].Length is 4 or 5;
        if (!amexLike)
        {
            for (var g = first; g < last; g++)
            {
                if (groups[g].Length != 4)
                {
                    return false;
                }
            }

            if (groups[last].Length > 4)
            {
                return false;
            }
        }

        var separator = DigitGroups.SeparatorAfter(text, groups, first);
        for (var g = first + 1; g < last; g++)
        {
            if (!DigitGroups.SeparatorAfter(text, groups, g).SequenceEqual(separator))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>0.9 for a known issuer range at one of its lengths, 0.75 for a known range at another length, 0.4 (unknown) otherwise.</summary>
    private static double IssuerConfidence(ReadOnlySpan<char> digits)
    {
        var length = digits.Length;
        var p2 = Prefix(digits, 2);
        var p3 = Prefix(digits, 3);
        var p4 = Prefix(digits, 4);
        var p6 = Prefix(digits, 6);
        var (known, usual) = digits[0] switch
        {
            '4' => (true, length is 13 or 16 or 19),                                                        // Visa
            '5' when p2 is >= 51 and <= 55 => (true, length == 16),                                         // Mastercard
            '5' when p2 is 50 or >= 56 and <= 58 => (true, length is >= 12 and <= 19),                      // Maestro
            '2' when p4 is >= 2221 and <= 2720 => (true, length == 16),                                     // Mastercard 2-series
            '2' when p4 is >= 2200 and <= 2204 => (true, length == 16),                                     // Mir
            '3' when p2 is 34 or 37 => (true, length == 15),                                                // Amex
            '3' when p4 is >= 3528 and <= 3589 => (true, length is >= 16 and <= 19),                        // JCB
            '3' when p3 is >= 300 and <= 305 || p2 is 36 or 38 or 39 || p4 == 3095 => (true, length is >= 14 and <= 19), // Diners
            '6' when p4 == 6011 || p2 == 65 || p3 is >= 644 and <= 649 || p6 is >= 622126 and <= 622925 => (true, length is >= 16 and <= 19), // Discover
            '6' when p2 is 62 or 60 or 63 or 67 => (true, length is >= 16 and <= 19),                       // UnionPay, RuPay, Maestro
            '8' when p2 is 81 or 82 => (true, length is >= 16 and <= 19),                                   // UnionPay 81, RuPay 82
            _ => (false, false),
        };

        return !known ? 0.4 : usual ? 0.9 : 0.75;
    }

    private static int Prefix(ReadOnlySpan<char> digits, int n)
    {
        var value = 0;
        for (var i = 0; i < n && i < digits.Length; i++)
        {
            value = (value * 10) + (digits[i] - '0');
        }

        return value;
    }
}
