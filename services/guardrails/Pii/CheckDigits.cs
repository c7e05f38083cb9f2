namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>
/// The check-digit algorithms that tell a real card, IBAN or routing number from a random digit run.
/// </summary>
/// <remarks>
/// Written here rather than taken from a package: each is a few lines of arithmetic over a span,
/// allocation-free and on the hot path, while the packages that offer them (IbanNet, card
/// validators) bring parsing, formatting and country data we do not want, and allocate.
/// </remarks>
internal static class CheckDigits
{
    /// <summary>The Luhn (mod 10) check of payment cards over the digits of <paramref name="text"/>; other characters are skipped.</summary>
    public static bool Luhn(ReadOnlySpan<char> text)
    {
        int sum = 0, count = 0;
        for (var i = text.Length - 1; i >= 0; i--)
        {
            var c = text[i];
            if (!char.IsAsciiDigit(c))
            {
                continue;
            }

            var d = c - '0';
            if ((count & 1) == 1)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            count++;
        }

        return count > 0 && sum % 10 == 0;
    }

    /// <summary>
    /// ISO 13616 / ISO 7064 mod-97 check of an IBAN given without spaces, upper case: the first four
    /// characters move to the end, letters become 10–35, and the number must leave 1 modulo 97.
    /// </summary>
    public static bool IbanMod97(ReadOnlySpan<char> compact)
    {
        if (compact.Length < 5)
        {
            return false;
        }

        var remainder = 0;
        for (var i = 0; i < compact.Length; i++)
        {
            var c = compact[(i + 4) % compact.Length];
            if (char.IsAsciiDigit(c))
            {
                remainder = ((remainder * 10) + (c - '0')) % 97;
            }
            else if (char.IsAsciiLetterUpper(c))
            {
                remainder = ((remainder * 100) + (c - 'A' + 10)) % 97;
            }
            else
            {
                return false;
            }
        }

        return remainder == 1;
    }

    /// <summary>
    /// The ABA routing number check: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), and
    /// the first two digits in a range the Federal Reserve assigns (00–12, 21–32, 61–72, 80).
    /// </summary>
    public static bool AbaRouting(ReadOnlySpan<char> nineDigits)
    {
        if (nineDigits.Length != 9)
        {
            return false;
        }

        var sum = 0;
        for (var i = 0; i < 9; i++)
        {
            if (!char.IsAsciiDigit(nineDigits[i]))
            {
                return false;
            }

            sum += (nineDigits[i] - '0') * (i % 3) switch { 0 => 3, 1 => 7, _ => 1 };
        }

        var prefix = ((nineDigits[0] - '0') * 10) + (nineDigits[1] - '0');
        var assigned = prefix <= 12 || prefix is >= 21 and <= 32 || prefix is >= 61 and <= 72 || prefix == 80;
        return assigned && sum % 10 == 0 && !nineDigits.SequenceEqual("000000000");
    }
}
